"""Write and verify the hash-chained audit log."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

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
    """Return the SHA-256 of a record's canonical form, which includes the previous hash."""
    return hashlib.sha256(_canonical(rec).encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    # Serialise appends so two writers never chain onto the same predecessor.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(7310001)"))


def record(action: str, *, outcome: str = "success", object_type: str | None = None,
           object_id: Any = None, details: dict | None = None, user=None, ip: str | None = None) -> AuditRecord:
    """Append an audit record in the current transaction (the caller commits)."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    if ip is None and has_request_context():
        ip = request.remote_addr
    _lock_chain()
    last = db.session.execute(
        sa.select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    rec = AuditRecord(
        id=(last.id + 1) if last else 1,
        at=datetime.now(timezone.utc),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        ip=ip,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details else None,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    rec.hash = record_hash(rec)
    db.session.add(rec)
    db.session.flush()
    return rec
