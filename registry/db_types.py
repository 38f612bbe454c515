"""Column helpers shared by the models."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from registry.enums import LabeledEnum


def utcnow() -> datetime:
    """Return the current UTC time (a callable default, evaluated per row)."""
    return datetime.now(timezone.utc)


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
