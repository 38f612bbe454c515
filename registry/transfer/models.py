"""Saved column/value mappings (import profiles), one set per department."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db_types import enum_type, utcnow
from registry.enums import Category
from registry.extensions import db


class ImportProfile(db.Model):
    """How one department's ledger layout maps onto the registry; applied when a header matches."""

    __tablename__ = "import_profiles"
    __table_args__ = (sa.UniqueConstraint("department_id", "name", name="uq_import_profile_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    name: Mapped[str] = mapped_column(sa.String(80))
    # A fingerprint of the header titles, so a matching upload finds its profile at once.
    header_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    mapping: Mapped[dict] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Retired profiles stay (with their audit trail) but no longer apply or show.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
