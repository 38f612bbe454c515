"""Password and session policy: config defaults, overridden by the security administrator."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from flask import current_app, g, has_request_context

from registry.accounts.models import SecurityPolicy
from registry.audit import services as audit
from registry.db_types import utcnow
from registry.errors import ValidationFailed
from registry.extensions import db


@dataclass(frozen=True)
class Setting:
    """One tunable setting: its config key, Chinese label and allowed range."""

    key: str
    label: str
    unit: str
    low: int
    high: int


# Ranges keep the 等保2.0 baseline: the security administrator may tighten, never switch off.
SETTINGS = (
    Setting("PASSWORD_MIN_LENGTH", "密码最小长度", "位", 8, 64),
    Setting("PASSWORD_MAX_AGE_DAYS", "密码最长使用期限", "天", 1, 365),
    Setting("LOGIN_MAX_ATTEMPTS", "连续登录失败锁定阈值", "次", 3, 10),
    Setting("LOGIN_LOCKOUT_MINUTES", "锁定时长", "分钟", 5, 1440),
    Setting("SESSION_IDLE_MINUTES", "空闲自动退出时间", "分钟", 1, 30),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


def _defaults() -> dict[str, int]:
    cfg = current_app.config
    return {s.key: int(cfg[s.key]) for s in SETTINGS}


def current_policy() -> dict[str, int]:
    """Return every setting: the stored override when present, else the configured value (cached per request)."""
    if has_request_context() and "_security_policy" in g:
        return g._security_policy
    policy = _over_defaults((row.key, row.value) for row in db.session.scalars(sa.select(SecurityPolicy)))
    if has_request_context():
        g._security_policy = policy
    return policy


def _over_defaults(stored: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    """Return the configured settings with the stored values (key, value; None: not stored) put over them."""
    policy = _defaults()
    for key, value in stored:
        if key in policy and value is not None:
            policy[key] = value
    return policy


@functools.cache
def stored_columns() -> tuple:
    """Return one scalar subquery per setting (its stored value or NULL), to ride along a request's identity read.

    Every signed-in request reads the policy (idle logout, password age); selected with the user it
    costs no round trip of its own. Read from the database on each request, so every host agrees;
    only the (immutable) subqueries are built once.
    """
    return tuple(sa.select(SecurityPolicy.value).where(SecurityPolicy.key == s.key).scalar_subquery()
                 .label(f"policy_{s.key.lower()}") for s in SETTINGS)


def keep_for_request(stored: Iterable[int | None]) -> None:
    """Cache for this request the settings read by `stored_columns()` (None: the configured value applies)."""
    if has_request_context():
        g._security_policy = _over_defaults(zip((s.key for s in SETTINGS), stored))


def get(key: str) -> int:
    """Return one policy value."""
    return current_policy()[key]


def update_policy(form: dict[str, str], actor) -> dict[str, tuple[int, int]]:
    """Validate and store new values; return {key: (before, after)} of what changed (audited)."""
    before = current_policy()
    values: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for s in SETTINGS:
        raw = (form.get(s.key) or "").strip()
        try:
            value = int(raw)
        except ValueError:
            errors[s.label] = [f"「{raw[:20]}」不是整数"]
            continue
        if not s.low <= value <= s.high:
            errors[s.label] = [f"须在 {s.low}–{s.high} {s.unit}之间"]
            continue
        values[s.key] = value
    if errors:
        raise ValidationFailed("安全策略未保存", errors)
    changed = {k: (before[k], v) for k, v in values.items() if before[k] != v}
    for key, (_old, new) in changed.items():
        row = db.session.get(SecurityPolicy, key) or SecurityPolicy(key=key)
        row.value, row.updated_at, row.updated_by = new, utcnow(), actor.id
        db.session.add(row)
    if changed:
        audit.record("policy.update", object_type="security_policy", user=actor,
                     details={"before": {k: o for k, (o, _n) in changed.items()},
                              "after": {k: n for k, (_o, n) in changed.items()}})
    db.session.commit()
    if has_request_context():
        g.pop("_security_policy", None)
    return changed
