"""Column helpers shared by the models."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from registry import clock
from registry.enums import LabeledEnum


# The largest value of an INTEGER id column (PostgreSQL's int4; SQLite fails beyond 64 bits, not 32).
MAX_ID = 2**31 - 1


def as_id(text: str) -> int | None:
    """Return `text` as a number an id column can hold (ASCII digits, 0..MAX_ID), else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None  # "²".isdigit() is true, and int() of a 5,000-digit string raises: neither may reach int()
    number = int(text)
    return number if number <= MAX_ID else None


def utcnow() -> datetime:
    """Return the current UTC time (a callable default, evaluated per row); the one clock is registry.clock."""
    return clock.now()


def enum_type(enum_cls: type[LabeledEnum]) -> sa.Enum:
    """Store a LabeledEnum as its value, with a CHECK constraint on both databases."""
    return sa.Enum(
        enum_cls,
        name=enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class RecordedBy:
    """Mixin: who entered the row by hand (`recorded_by_id`, NULL for the system) and when (`created_at`)."""

    # declared_attr: each table gets its own ForeignKey (a Column cannot be shared between tables).
    @declared_attr
    def recorded_by_id(cls) -> Mapped[int | None]:
        """Return the user who recorded the row."""
        return mapped_column(sa.ForeignKey("users.id"))

    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class EventRow:
    """Mixin of a history row: its id (the order of the history), when (`at`) and who acted (`user_id`, NULL: a job)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @declared_attr
    def user_id(cls) -> Mapped[int | None]:
        """Return the user who acted."""
        return mapped_column(sa.ForeignKey("users.id"))
