"""Write and verify the hash-chained audit log.

Each record's `hash` is an HMAC-SHA256, with a key kept outside the database (REGISTRY_AUDIT_KEY or
instance/audit_key), over its content and the previous record's hash. Someone who can write to the
database but not read that key can edit a record and recompute an unkeyed chain, but not this one.
Records written before the key was introduced keep their plain SHA-256 (see integrity.verify).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from flask_login import current_user

from registry import clock, throttle
from registry.audit.models import AuditRecord
from registry.extensions import db

GENESIS_HASH = "0" * 64


def _canonical(rec: AuditRecord) -> str:
    # The id is left out on purpose: the chain (prev_hash), not the row number, fixes the order,
    # so a record moved to another id keeps its own hash and shows up as re-ordered.
    at = rec.at.astimezone(timezone.utc) if rec.at.tzinfo else rec.at.replace(tzinfo=timezone.utc)
    fields = [
        at.strftime("%Y-%m-%dT%H:%M:%S.%f"), str(rec.user_id or ""), rec.username or "",
        rec.ip or "", rec.action, rec.object_type or "", rec.object_id or "", rec.outcome,
        rec.details or "", rec.prev_hash,
    ]
    return "\x1f".join(fields)


def record_hash(rec: AuditRecord) -> str:
    """Return the keyed hash (HMAC-SHA256 with the audit key) of a record's canonical form, previous hash included."""
    key = current_app.config["AUDIT_KEY"].encode("utf-8")
    return hmac.new(key, _canonical(rec).encode("utf-8"), hashlib.sha256).hexdigest()


def plain_hash(rec: AuditRecord) -> str:
    """Return the unkeyed SHA-256 that records written before the audit key carry."""
    return hashlib.sha256(_canonical(rec).encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    """Serialise appends so two writers never read the same predecessor (held until the caller commits)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7310001)"))
    elif conn.dialect.name == "sqlite":
        # pysqlite opens a transaction only at the first write, so the read of the chain's head below
        # would run unlocked and two appends would both take id N+1 (IntegrityError). Taking SQLite's
        # single write lock first (BEGIN IMMEDIATE, waiting up to busy_timeout) makes read-and-append
        # atomic. A transaction that already wrote holds that lock, and is left alone.
        driver = conn.connection.driver_connection
        if not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")


# Limits on what a request without a signed-in user can make the log store (it cannot be deleted).
_MAX_TEXT = 200
_MAX_ITEMS = 20


def _bounded(value):
    """Return `value` with strings cut to 200 characters and lists/objects to 20 items (nested too)."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {str(k)[:64]: _bounded(v) for k, v in list(value.items())[:_MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        return [_bounded(v) for v in list(value)[:_MAX_ITEMS]]
    return value


def _unauthenticated_refusal(outcome: str) -> bool:
    """Tell whether this record is a failure or refusal caused by a request nobody is signed in to."""
    if outcome == "success" or not has_request_context():
        return False
    caller = g.get("_login_user")  # Flask-Login's user of this request, once loaded
    return caller is None or not caller.is_authenticated


def record(action: str, *, outcome: str = "success", object_type: str | None = None,
           object_id: Any = None, details: dict | None = None, user=None, ip: str | None = None) -> AuditRecord | None:
    """Append an audit record in the current transaction (the caller commits).

    Failures and refusals caused by unauthenticated requests are bounded: their details are cut down,
    and past ANONYMOUS_AUDIT_LIMIT records per client address and window only one `audit.suppressed`
    record is written, the rest counted (None is returned for those). Everything else is always written.
    """
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    if ip is None and has_request_context():
        ip = request.remote_addr
    if _unauthenticated_refusal(outcome):
        details = _bounded(details) if details else details
        if throttle.enabled():
            count, window = throttle.hit("audit", ip)
            if count > window.limit:
                if count > window.limit + 1:
                    return None
                details = {"address": window.address, "limit": window.limit, "window_seconds": window.seconds,
                           "first_suppressed": action, "note": "本时段内该地址其后的失败与拒绝记录只计数，不再逐条记录"}
                action, outcome, object_type, object_id, user = "audit.suppressed", "denied", None, None, None
    return _append(action, outcome, object_type, object_id, details, user, ip)


def _append(action, outcome, object_type, object_id, details, user, ip) -> AuditRecord:
    _lock_chain()
    last = db.session.execute(
        sa.select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    rec = AuditRecord(
        id=(last.id + 1) if last else 1,
        at=clock.now(),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        ip=None if ip is None else str(ip)[:64],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64],
        outcome=outcome,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details else None,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    rec.hash = record_hash(rec)
    db.session.add(rec)
    db.session.flush()
    return rec


def record_refusal(action: str, *, outcome: str = "denied", **fields) -> AuditRecord | None:
    """Discard the request's pending work, then append and commit one refusal record on its own."""
    db.session.rollback()  # never commit half-applied work together with the refusal
    rec = record(action, outcome=outcome, **fields)
    db.session.commit()
    return rec
