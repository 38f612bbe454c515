"""User accounts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db_types import enum_type, utcnow
from registry.enums import Role
from registry.extensions import db
from registry.orgs.models import Department


class User(UserMixin, db.Model):
    """A person who logs in; one role, and a department for bureau roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout and password change, so an old session cookie stops working.
    session_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        """Return the session id: user id and session generation."""
        return f"{self.id}:{self.session_generation}"
