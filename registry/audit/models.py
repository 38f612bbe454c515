"""Audit records, each holding the hash of the previous one."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db_types import utcnow
from registry.extensions import db


class AuditRecord(db.Model):
    """One attributable action: time, user, IP, action, object, outcome, details."""

    __tablename__ = "audit_records"
    __table_args__ = (
        sa.Index("ix_audit_records_at", "at"),
        sa.Index("ix_audit_records_username", "username"),
        sa.Index("ix_audit_records_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)  # no FK: the log outlives accounts
    username: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))  # success / failure / denied
    details: Mapped[str | None] = mapped_column(sa.Text)  # JSON: before/after and context
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
