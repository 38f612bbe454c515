"""Configuration read from REGISTRY_* environment variables."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "REGISTRY_"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # reachable from this machine only, never from a phone
# Days a notice may give for compliance (rule parameters and REGISTRY_NOTICE_DEADLINE_DAYS alike).
DEADLINE_DAYS_MIN, DEADLINE_DAYS_MAX = 1, 3650


def _default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "registry.db")


def _coerce(raw: str, default: Any) -> Any:
    """Parse an environment string into the type of its default."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


# Defaults for every setting; each may be overridden by REGISTRY_<NAME>.
DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": "",
    "DATABASE_URL": "",
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    "SESSION_IDLE_MINUTES": 30,
    "LOGIN_MAX_ATTEMPTS": 5,
    "LOGIN_LOCKOUT_MINUTES": 30,
    "PASSWORD_MIN_LENGTH": 10,
    "PASSWORD_MAX_AGE_DAYS": 90,
    "AUDIT_RETENTION_DAYS": 180,
    # HMAC key of the audit chain, kept outside the database (default: random, in instance/audit_key).
    "AUDIT_KEY": "",
    # Records up to this id were written before the chain was keyed and keep their plain SHA-256.
    "AUDIT_UNSIGNED_THROUGH_ID": 0,
    "CONDITION_STALE_DAYS": 365,
    "TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_SECURE": False,
    "RATELIMIT_ENABLED": True,
    # Per-address limits kept in the database (all workers and hosts agree); see registry/throttle.py.
    "LOGIN_ADDRESS_LIMIT": "30 per 10 minutes",  # login attempts that were not successful
    "TOKEN_FAILURE_LIMIT": "30 per 10 minutes",  # invalid API tokens
    "ANONYMOUS_AUDIT_LIMIT": "100 per 10 minutes",  # refusal records written for unauthenticated requests
    # Flask-Limiter's storage (the /verify limit): memory:// counts per worker; redis://… is shared.
    "RATELIMIT_STORAGE_URI": "memory://",
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (nginx: 1; none: 0).
    "TRUSTED_PROXIES": 0,
    # SQLite reads its file through a memory map of up to this many bytes (0: through read() calls): a
    # filter that visits many rows by rowid (1M assets) is about 30 % faster. PostgreSQL ignores it.
    "SQLITE_MMAP_SIZE": 1024 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 200_000,
    # Uploads larger than this are checked and written by the worker (`flask registry worker`), with a
    # progress bar; smaller ones in the request. 0: every import goes to the worker.
    "IMPORT_INLINE_BYTES": 1024 * 1024,
    # A rule's impact preview over more assets than this (its category, in the reader's scope) runs in the
    # worker with a progress bar and a result page; smaller ones answer in the request. 0: always the worker.
    "IMPACT_INLINE_ASSETS": 50_000,
    # Background tasks: run at once in the caller instead of by a worker (tests only), threads per worker,
    # and seconds without a progress report after which a running task shows as 已中断.
    "TASKS_IMMEDIATE": False,
    "TASK_WORKERS": 1,
    "TASK_STALE_SECONDS": 300,
    # Replacement notices: address printed in the QR code, default deadline, verification rate limit.
    "PUBLIC_BASE_URL": DEFAULT_PUBLIC_BASE_URL,
    # Days after the notice date when a rule sets none, or when its fixed date had passed at issue.
    "NOTICE_DEADLINE_DAYS": 90,
    "VERIFY_RATE_LIMIT": "30 per minute",
    "SEAL_MAX_BYTES": 2 * 1024 * 1024,
    # Root of every stored file (notices, seals, disposal documents, photos, uploads awaiting import):
    # with several hosts it must be one shared folder. The per-kind *_FILES_DIR settings still win.
    "FILES_ROOT": "",  # default: the instance folder
    "NOTICE_FILES_DIR": "",  # default: instance/notices
    "SEAL_FILES_DIR": "",  # default: instance/seals
    "DISPOSAL_FILES_DIR": "",  # default: instance/disposals (scanned disposal documents)
    # Scheduled jobs (crontab syntax, in TIMEZONE); see README "定时任务 / Scheduled jobs".
    "JOB_NIGHTLY_EVALUATION_CRON": "30 1 * * *",
    "JOB_MONTHLY_OVERDUE_REMINDER_CRON": "0 8 1 * *",
    "JOB_NOTICE_GENERATION_CRON": "0 3 * * *",
    "JOB_YEARLY_PLANNING_DRAFT_CRON": "0 6 1 1 *",
    "JOB_MISFIRE_GRACE_SECONDS": 6 * 3600,
    "JOB_HEARTBEAT_SECONDS": 15,
    "JOB_STALE_SECONDS": 120,
    "JOB_POLL_SECONDS": 10,
    # Where the nightly snapshot takes its findings from ("module:function").
    "SNAPSHOT_SOURCE": "registry.snapshots.source:from_rules_engine",
    # Test-only hook: seconds to sleep inside a snapshot write, so a test can kill -9 it halfway.
    "TEST_JOB_SLEEP": 0.0,
}


def public_base_url_problem(value: str | None) -> str | None:
    """Return why `value` cannot be printed in notice QR codes (Chinese), or None when it is a usable http(s)://host."""
    text = (value or "").strip()
    if not text:
        return "未设置 REGISTRY_PUBLIC_BASE_URL（通知书二维码中的核验地址，须是手机能打开的地址）"
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.query or parts.fragment or " " in text or (port is not None and not 0 < port < 65536)):
        return (f"REGISTRY_PUBLIC_BASE_URL 无效：“{text[:100]}”。应为 http:// 或 https:// 开头的地址，"
                "如 https://sbgx.xinzheng.gov.cn（可带端口和路径，不带用户名、查询参数）")
    return None


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict from defaults, the environment and overrides."""
    cfg: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        raw = os.environ.get(ENV_PREFIX + name)
        try:
            cfg[name] = _coerce(raw, default) if raw is not None else default
        except ValueError:
            kind = "整数" if isinstance(default, int) else "数字"
            raise ValueError(f"环境变量 {ENV_PREFIX}{name} 应为{kind}，现为「{raw}」") from None
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg.pop("DATABASE_URL") or _default_database_url(instance_path)
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    cfg["BABEL_DEFAULT_TIMEZONE"] = cfg["TIMEZONE"]
    cfg["JSON_AS_ASCII"] = False
    # flask-smorest / OpenAPI
    cfg["API_TITLE"] = "设备更新台账 API"
    cfg["API_VERSION"] = "v1"
    cfg["OPENAPI_VERSION"] = "3.0.3"
    cfg["OPENAPI_URL_PREFIX"] = "/api/v1"
    cfg["OPENAPI_JSON_PATH"] = "openapi.json"
    if overrides:
        for key, value in overrides.items():
            if key == "DATABASE_URL":
                cfg["SQLALCHEMY_DATABASE_URI"] = value
            else:
                cfg[key] = value
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(cfg["SQLALCHEMY_DATABASE_URI"]))
    _check_deadline_days(cfg["NOTICE_DEADLINE_DAYS"])
    return cfg


def engine_options(url: str) -> dict[str, Any]:
    """Return SQLAlchemy engine options for the database at `url`.

    psycopg prepares a statement it has run five times on a connection, and PostgreSQL then may
    plan it once for any parameters. Such a generic plan cannot hash an IN list of parameters, and
    it is chosen with the statistics of the moment: after a bulk import into a young table each
    chunked `code IN (...)` became a sequential scan comparing every row with 1,000 values (6 s a
    chunk at 100k). Every statement is planned for its own values instead.
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql+psycopg:"):  # psycopg 3 (not psycopg2, which never prepares)
        options["connect_args"] = {"prepare_threshold": None}
    return options


def _check_deadline_days(days: Any) -> None:
    """Refuse to start with a default notice deadline outside DEADLINE_DAYS_MIN..MAX."""
    if isinstance(days, bool) or not isinstance(days, int) or not DEADLINE_DAYS_MIN <= days <= DEADLINE_DAYS_MAX:
        raise ValueError(f"{ENV_PREFIX}NOTICE_DEADLINE_DAYS 必须是 {DEADLINE_DAYS_MIN} 到 {DEADLINE_DAYS_MAX} "
                         f"之间的整数（当前：{days!r}）")
