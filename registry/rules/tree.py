"""Three-valued conditions that evaluate in Python and compile to SQL from one definition.

Each condition is TRUE, FALSE or UNKNOWN (data missing). An atom is UNKNOWN when a field it needs
is NULL; AND is FALSE if any part is FALSE; OR is TRUE if any part is TRUE. A rule hits when its
condition is TRUE and is "undeterminable" when it is UNKNOWN, so a missing date never passes silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import sqlalchemy as sa

from registry.rules.fields import Field
from registry.rules.sqltext import concat, lit

Values = dict  # field name -> Python value
Cols = Callable[[Field], Any]  # field -> SQL expression


@dataclass
class Atom:
    """A leaf condition on non-NULL fields, with its explanation and the figures it used."""

    needs: list[Field]
    py_cond: Callable[[Values], bool]
    sql_cond: Callable[[Cols], Any]
    py_text: Callable[[Values], str]
    sql_text: Callable[[Cols], Any]
    figures: list[tuple[str, Callable[[Values], Any], Callable[[Cols], Any]]] = field(default_factory=list)
    extra: list[Field] = field(default_factory=list)  # read for text/figures only; never makes it UNKNOWN

    def fields(self) -> list[Field]:
        """Return the fields this condition reads."""
        return list(self.needs)

    def read_fields(self) -> list[Field]:
        """Return every field this condition reads, including those only shown."""
        return list(self.needs) + list(self.extra)

    def truth(self, v: Values) -> bool | None:
        """Return True / False, or None when a needed field is missing."""
        if any(v[f.name] is None for f in self.needs):
            return None
        return bool(self.py_cond(v))

    def _cond(self, c: Cols):
        # Built once per query: the same condition appears in WHERE, CASE and the explanation.
        cache = self.__dict__.setdefault("_sql_cache", {})
        if id(c) not in cache:
            cache.clear()
            cache[id(c)] = (sa.and_(*[c(f).is_not(None) for f in self.needs]), self.sql_cond(c))
        return cache[id(c)]

    def sql_true(self, c: Cols):
        """Return the SQL condition for TRUE."""
        known, cond = self._cond(c)
        return sa.and_(known, cond)

    def sql_false(self, c: Cols):
        """Return the SQL condition for FALSE."""
        known, cond = self._cond(c)
        return sa.and_(known, sa.not_(cond))

    def text(self, v: Values) -> str:
        """Return the explanation (only meaningful when TRUE)."""
        return self.py_text(v)

    def sql_explain(self, c: Cols):
        """Return the SQL explanation (only meaningful when TRUE)."""
        return self.sql_text(c)

    def figure_list(self):
        """Return (key, python, sql) figure readers."""
        return list(self.figures)


class _Compound:
    """What AllOf and AnyOf share: the fields and figures of a compound are those of its parts."""

    parts: list

    def fields(self) -> list[Field]:
        return [f for p in self.parts for f in p.fields()]

    def read_fields(self) -> list[Field]:
        return [f for p in self.parts for f in p.read_fields()]

    def figure_list(self):
        return [fig for p in self.parts for fig in p.figure_list()]


@dataclass
class AllOf(_Compound):
    """TRUE when every part is TRUE; explained by joining the parts with 「，」."""

    parts: list


    def truth(self, v: Values) -> bool | None:
        results = [p.truth(v) for p in self.parts]
        if any(r is False for r in results):
            return False
        return True if all(results) else None

    def sql_true(self, c: Cols):
        return sa.and_(*[p.sql_true(c) for p in self.parts])

    def sql_false(self, c: Cols):
        return sa.or_(*[p.sql_false(c) for p in self.parts])

    def text(self, v: Values) -> str:
        return "，".join(p.text(v) for p in self.parts)

    def sql_explain(self, c: Cols):
        pieces = []
        for i, p in enumerate(self.parts):
            if i:
                pieces.append("，")
            pieces.append(p.sql_explain(c))
        return concat(*pieces)


@dataclass
class AnyOf(_Compound):
    """TRUE when a part is TRUE; explained by the TRUE parts joined with 「；」."""

    parts: list
    first_only: bool = False  # explain by the first TRUE part only (alternatives that overlap)


    def truth(self, v: Values) -> bool | None:
        results = [p.truth(v) for p in self.parts]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None

    def sql_true(self, c: Cols):
        return sa.or_(*[p.sql_true(c) for p in self.parts])

    def sql_false(self, c: Cols):
        return sa.and_(*[p.sql_false(c) for p in self.parts])

    def text(self, v: Values) -> str:
        texts = [p.text(v) for p in self.parts if p.truth(v) is True]
        return texts[0] if self.first_only else "；".join(texts)

    def sql_explain(self, c: Cols):
        if len(self.parts) == 1:
            return self.parts[0].sql_explain(c)
        if self.first_only:
            return sa.case(*[(p.sql_true(c), p.sql_explain(c)) for p in self.parts], else_=lit(""))
        # Each TRUE part contributes 「；text」; the leading separator is cut off (one character).
        joined = concat(*[sa.case((p.sql_true(c), concat("；", p.sql_explain(c))), else_=lit("")) for p in self.parts])
        return sa.func.substr(joined, 2)


def unique_fields(node) -> list[Field]:
    """Return the fields a condition reads, in first-use order, without repeats."""
    seen, out = set(), []
    for f in node.fields():
        if f.name not in seen:
            seen.add(f.name)
            out.append(f)
    return out


def unique_figures(node) -> list:
    """Return the figure readers of a condition, first occurrence of each key only."""
    seen, out = set(), []
    for key, py, sql in node.figure_list():
        if key not in seen:
            seen.add(key)
            out.append((key, py, sql))
    return out


def iso(value):
    """Return a JSON-friendly figure: dates as ISO text, enums as their value."""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):
        return value.value
    return value
