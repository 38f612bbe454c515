"""Fast bulk inserts: COPY on PostgreSQL, executemany of tuples on SQLite.

The ORM and even Core `insert()` spend most of their time building parameters; for
hundreds of thousands of rows that dominates, so bulk paths hand tuples to the driver.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterable, Sequence

import sqlalchemy as sa

from registry.extensions import db


# Bound parameters per IN (...) list: PostgreSQL's protocol allows 65,535 per statement, SQLite 32,766.
IN_LIST_CHUNK = 10_000


def chunked(values: Iterable, size: int = IN_LIST_CHUNK) -> Iterable[list]:
    """Yield `values` in lists of at most `size` (for IN lists that could outgrow a statement's parameters)."""
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


_PASS_THROUGH = frozenset({str, int, float, bool, type(None)})


def _sqlite_value(value):
    # Match what SQLAlchemy's SQLite types store, so ORM reads of bulk rows round-trip.
    kind = type(value)
    if kind in _PASS_THROUGH:
        return value
    if kind is date:
        return value.isoformat()
    value = _plain(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def bulk_insert(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert `rows` (tuples in `columns` order) into `table` in the session's transaction; return the count."""
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_plain(v) for v in row])
                count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    cur = raw.cursor()
    try:
        batch = [tuple(_sqlite_value(v) for v in row) for row in rows]
        cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', batch)
        count = len(batch)
    finally:
        cur.close()
    return count
