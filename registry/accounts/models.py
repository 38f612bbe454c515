"""User accounts."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from registry import clock
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
    # Accounts are never deleted: deactivation is a status with a reason.
    deactivated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    deactivation_reason: Mapped[str | None] = mapped_column(sa.String(200))

    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_locked(self) -> bool:
        """Tell whether the account is locked out after failed logins right now."""
        if self.locked_until is None:
            return False
        until = self.locked_until if self.locked_until.tzinfo else self.locked_until.replace(tzinfo=timezone.utc)
        return until > clock.now()

    def get_id(self) -> str:
        """Return the session id: user id and session generation."""
        return f"{self.id}:{self.session_generation}"


def identity_options(path=None) -> list:
    """Loader options bringing a request's user, department and its categories in one statement.

    The login gate, the role gate, scoping and the page header all read them; without this the
    department's categories cost a second round trip on every request. `path` is the relationship
    leading to the user (e.g. ApiToken.user) when the user is not the queried entity.
    """
    chain = joinedload(path).joinedload(User.department) if path is not None else joinedload(User.department)
    return [chain.joinedload(Department.categories)]


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists so users can tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class SecurityPolicy(db.Model):
    """One password/session setting chosen by the security administrator, overriding config."""

    __tablename__ = "security_policy"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
