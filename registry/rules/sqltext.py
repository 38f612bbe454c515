"""Small SQL builders that compile identically on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


def lit(text: str) -> ColumnElement:
    """Return a typed string parameter.

    Constants are bound, never inlined, so a rule's statement has the same shape for every
    `as_of` and SQLAlchemy compiles it once; the psycopg dialect casts typed binds (::VARCHAR).
    """
    return sa.literal(text, sa.String)


def as_text(expr) -> ColumnElement:
    """Return `expr` as text, or a literal when given a Python string."""
    if isinstance(expr, str):
        return lit(expr)
    return sa.cast(expr, sa.String)


def concat(*parts) -> ColumnElement:
    """Concatenate strings and expressions with `||`."""
    out = None
    for part in parts:
        piece = lit(part) if isinstance(part, str) else part
        out = piece if out is None else out.op("||")(piece)
    return out if out is not None else lit("")


def date_lit(day: date | None, dialect: str) -> ColumnElement:
    """Return a typed date constant for a SELECT list (NULL when `day` is None)."""
    if day is None:
        return sa.null()
    return sa.literal(day, sa.Date)


def int_lit(value: int) -> ColumnElement:
    """Return a typed integer parameter."""
    return sa.literal(int(value), sa.Integer)


class _DatePart(FunctionElement):
    """Integer year / month / day of a date; on SQLite a substr() of the ISO text (cheaper than strftime)."""

    type = sa.Integer()
    inherit_cache = True
    field = ""
    slice = (0, 0)


class _Year(_DatePart):
    inherit_cache = True
    name = "year_part"
    field, slice = "YEAR", (1, 4)


class _Month(_DatePart):
    inherit_cache = True
    name = "month_part"
    field, slice = "MONTH", (6, 2)


class _Day(_DatePart):
    inherit_cache = True
    name = "day_part"
    field, slice = "DAY", (9, 2)


_PARTS = {"year": _Year, "month": _Month, "day": _Day}


def part(name: str, expr) -> ColumnElement:
    """Return the integer year / month / day of a date expression."""
    return _PARTS[name](expr)


@compiles(_DatePart)
def _part_sqlite(element, compiler, **kw):
    start, length = element.slice
    return "CAST(substr(%s, %d, %d) AS INTEGER)" % (compiler.process(element.clauses, **kw), start, length)


@compiles(_DatePart, "postgresql")
def _part_pg(element, compiler, **kw):
    return "CAST(EXTRACT(%s FROM %s) AS INTEGER)" % (element.field, compiler.process(element.clauses, **kw))



class json_object(FunctionElement):
    """JSON object from alternating key, value arguments: json_object / json_build_object."""

    type = sa.JSON()
    inherit_cache = True
    name = "json_object"


@compiles(json_object)
def _json_object_sqlite(element, compiler, **kw):
    return "json_object(%s)" % compiler.process(element.clauses, **kw)


@compiles(json_object, "postgresql")
def _json_object_pg(element, compiler, **kw):
    return "json_build_object(%s)" % compiler.process(element.clauses, **kw)


def json_pairs(pairs: list[tuple[str, ColumnElement]]) -> ColumnElement:
    """Build a JSON object from (key, expression) pairs."""
    args = []
    for key, expr in pairs:
        args.extend([lit(key), expr])
    return json_object(*args)
