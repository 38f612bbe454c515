"""Fast bulk inserts: COPY on PostgreSQL, executemany of tuples on SQLite.

The ORM and even Core `insert()` spend most of their time building parameters; for
hundreds of thousands of rows that dominates, so bulk paths hand tuples to the driver.
"""
from __future__ import annotations

import enum
import gc
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa

from registry.extensions import db


@contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector for one bulk job (reference counting still frees memory)."""
    # An import holds hundreds of thousands of rows alive while it allocates more; every full
    # collection walks them all, and for a large file those walks cost more than the import itself.
    # The rows form no reference cycles, so nothing is lost by collecting once at the end instead.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Bound parameters per IN (...) list: PostgreSQL's protocol allows 65,535 per statement, SQLite 32,766.
IN_LIST_CHUNK = 10_000


# Rows written by one job after which PostgreSQL's statistics of its tables are refreshed at once.
ANALYZE_AFTER_ROWS = 5_000


def refresh_statistics(tables: Iterable[sa.Table], rows_written: int) -> None:
    """ANALYZE `tables` on PostgreSQL after a committed bulk write of at least ANALYZE_AFTER_ROWS rows."""
    # Autovacuum analyses a table within a minute or so, but until then the planner believes a
    # young table is still empty: a second import right after the first one then reads the whole
    # table for every chunk of codes. ANALYZE samples at most 30,000 rows, well under a second.
    if rows_written < ANALYZE_AFTER_ROWS or db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(sa.text("ANALYZE " + ", ".join(t.name for t in tables)))
    db.session.commit()


@contextmanager
def foreign_keys_checked_after(conn, tables: Sequence[sa.Table]):
    """On PostgreSQL, check the foreign keys of `tables` once after the block instead of row by row.

    PostgreSQL checks each row's references with a trigger (about 5 µs each, three on an asset);
    a bulk load drops the constraints and adds them back, which validates every row in one join.
    Same transaction: a failure, or a reference left dangling, rolls everything back. SQLite's checks
    are cheap and left as they are.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    names = ", ".join(f"'{t.name}'::regclass" for t in tables)
    saved = conn.execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype = 'f' AND conrelid IN ({names}) ORDER BY conrelid, conname")).all()
    for table, name, _definition in saved:
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    yield
    for table, name, definition in saved:
        conn.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


# SQLite's page cache for a large load or a whole-inventory evaluation: 256 MB (negative: KiB). The default
# 2 MB makes an index growing out of order re-read its pages from the file.
LARGE_LOAD_CACHE_SIZE = -262144


@contextmanager
def sqlite_pragmas(conn, **pragmas) -> Iterator[None]:
    """Set SQLite PRAGMAs for the block and put the previous values back after (PostgreSQL: nothing)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    saved = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in pragmas}
    for name, value in pragmas.items():
        conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        for name, value in saved.items():
            conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")


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


def _sqlite_rows(rows: Iterable[Sequence]) -> list[tuple]:
    """Return `rows` with every value as `_sqlite_value` makes it, converted a column at a time."""
    # Most columns hold only values SQLite takes as they are and are left alone; the others repeat a few
    # dates, times and enum members (a seed's created_at is one value), so each distinct one is converted once.
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return []
    columns = list(zip(*rows))
    for i, values in enumerate(columns):
        if set(map(type, values)) <= _PASS_THROUGH:
            continue
        memo: dict = {}

        def convert(value, memo=memo):
            kind = value.__class__
            if kind in _PASS_THROUGH:
                return value
            if kind is date or kind is datetime or isinstance(value, enum.Enum):
                key = (kind, value)  # by class too: no date may stand for an equal datetime
                hit = memo.get(key)
                if hit is None:
                    hit = memo[key] = _sqlite_value(value)
                return hit
            return _sqlite_value(value)  # Decimal("1.0") and Decimal("1.00") are equal but stored apart
        columns[i] = list(map(convert, values))
    return list(zip(*columns))


def bound_rows(dialect, table: sa.Table, columns: Sequence[str], rows: list[tuple],
               convert: dict[str, Callable] | None = None) -> list[tuple]:
    """Return `rows` as `table`'s column types would bind them on `dialect`, converted a column at a time.

    `convert` maps column names to a function applied to each of their values first (enum to value, defaults).
    """
    # The very processors Core's insert() applies (so the stored values are the same), but run once per
    # column over a list instead of per value through the statement's parameter machinery.
    convert = convert or {}
    procs = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    steps = [[f for f in (convert.get(name), proc) if f is not None] for name, proc in zip(columns, procs)]
    if not rows or not any(steps):
        return rows
    cols = list(zip(*rows))
    for i, funcs in enumerate(steps):
        for func in funcs:
            cols[i] = list(map(func, cols[i]))
    return list(zip(*cols))


def bulk_insert(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence], *, bound: bool = False) -> int:
    """Insert `rows` (tuples in `columns` order) into `table` in the session's transaction; return the count.

    `bound`: the rows already went through `bound_rows` (plain driver values), so they are passed as they are.
    """
    conn = db.session.connection()
    dbapi = conn.dialect.loaded_dbapi
    try:
        return _insert(conn, table, columns, rows, bound)
    except dbapi.Error as exc:
        # The driver's own error class, wrapped as SQLAlchemy wraps it (callers catch sa.exc.IntegrityError).
        raise sa.exc.DBAPIError.instance(f'INSERT INTO "{table.name}"', None, exc, dbapi.Error) from exc


def _insert(conn, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence], bound: bool) -> int:
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row if bound else [_plain(v) for v in row])
                count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    cur = raw.cursor()
    try:
        batch = rows if bound else _sqlite_rows(rows)
        cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', batch)
        count = len(batch)
    finally:
        cur.close()
    return count
