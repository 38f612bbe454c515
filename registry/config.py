"""Configuration read from REGISTRY_* environment variables."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV_PREFIX = "REGISTRY_"


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
    "CONDITION_STALE_DAYS": 365,
    "TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_SECURE": False,
    "RATELIMIT_ENABLED": True,
    "IMPORT_MAX_ROWS": 200_000,
    # Replacement notices: address printed in the QR code, default deadline, verification rate limit.
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "NOTICE_DEADLINE_DAYS": 90,
    "VERIFY_RATE_LIMIT": "30 per minute",
    "SEAL_MAX_BYTES": 2 * 1024 * 1024,
    "NOTICE_FILES_DIR": "",  # default: instance/notices
    "SEAL_FILES_DIR": "",  # default: instance/seals
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


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict from defaults, the environment and overrides."""
    cfg: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        raw = os.environ.get(ENV_PREFIX + name)
        cfg[name] = _coerce(raw, default) if raw is not None else default
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg.pop("DATABASE_URL") or _default_database_url(instance_path)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    cfg["BABEL_DEFAULT_TIMEZONE"] = cfg["TIMEZONE"]
    cfg["JSON_AS_ASCII"] = False
    cfg["RATELIMIT_STORAGE_URI"] = "memory://"
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
    return cfg
