"""Leaf conditions (atoms), each defined once for Python and SQL side by side."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from registry.enums import Category, ConditionGrade
from registry.rules.dates import age_text, last_day, months_between, threshold
from registry.rules.fields import DATE_VERBS, FLAG_TEXT, Field, resolve
from registry.rules.sqltext import as_text, concat, int_lit, lit, part
from registry.rules.tree import Atom, iso


def months_sql(start, ref: date):
    """SQL twin of `dates.months_between(start, ref)` for a fixed `ref` (constants computed here)."""
    months = int_lit(ref.year * 12 + ref.month) - (part("year", start) * 12 + part("month", start))
    if ref.day < last_day(ref.year, ref.month):
        months = months - sa.case((part("day", start) > ref.day, 1), else_=0)
    return months


def _age_sql_text(start, as_of: date):
    months = months_sql(start, as_of)
    return concat(as_text(months // 12), " 年 ", as_text(months % 12), " 个月")


def _origin(category: Category, field: Field):
    """Return (python, sql) readers of the words naming the date an age counts from."""
    if field.name == "age_start" and category is Category.OFFICIAL_CAR:
        return (lambda v: "登记日期" if v.get("registered_on") is not None else "投入使用日期",
                lambda c: sa.case((c(resolve(category, "registered_on")).is_not(None), lit("登记日期")),
                                  else_=lit("投入使用日期")))
    label = resolve(category, "commissioned_on" if field.name == "age_start" else field.name).label
    return (lambda v: label, lambda c: lit(label))


def _extra_needs(category: Category, field: Field) -> list[Field]:
    # For cars the explanation says which date was counted from, so it reads registered_on too.
    if field.name == "age_start" and category is Category.OFFICIAL_CAR:
        return [resolve(category, "registered_on")]
    return []


def age(category: Category, field_name: str, years: int, inclusive: bool, as_of: date) -> Atom:
    """Age from `field_name` over N years (超过, exclusive) or N years and above (以上, inclusive)."""
    f = resolve(category, field_name)
    limit = threshold(as_of, years, inclusive)
    verb = DATE_VERBS[field_name]
    origin_py, origin_sql = _origin(category, f)
    tail = f"超过 {years} 年" if not inclusive else f"达到 {years} 年以上"
    extra = _extra_needs(category, f)
    return Atom(
        needs=[f],
        py_cond=lambda v: v[f.name] <= limit,
        sql_cond=lambda c: c(f) <= sa.literal(limit, sa.Date),
        py_text=lambda v: f"{verb} {age_text(v[f.name], as_of)}（自{origin_py(v)} {v[f.name].isoformat()} 起算），{tail}",
        sql_text=lambda c: concat(verb, " ", _age_sql_text(c(f), as_of), "（自", origin_sql(c), " ",
                                  as_text(c(f)), " 起算），", tail),
        figures=[(f.name, lambda v: iso(v[f.name]), lambda c: c(f)),
                 (f"{f.name}_age_months", _guard(f, lambda v: months_between(v[f.name], as_of)),
                  lambda c: months_sql(c(f), as_of))]
        + [(e.name, (lambda v, e=e: iso(v[e.name])), (lambda c, e=e: c(e))) for e in extra],
        extra=extra,
    )


def past_life(category: Category, field_name: str, life_name: str, inclusive: bool, as_of: date) -> Atom:
    """Age from `field_name` past the per-asset life in `life_name` (years)."""
    f, life = resolve(category, field_name), resolve(category, life_name)
    ref = as_of if inclusive else as_of - timedelta(days=1)
    verb = DATE_VERBS[field_name]
    origin_py, origin_sql = _origin(category, f)
    word = "达到" if inclusive else "超过"
    extra = _extra_needs(category, f)
    return Atom(
        needs=[f, life],
        py_cond=lambda v: months_between(v[f.name], ref) >= 12 * v[life.name],
        sql_cond=lambda c: months_sql(c(f), ref) >= c(life) * 12,
        py_text=lambda v: (f"{verb} {age_text(v[f.name], as_of)}（自{origin_py(v)} {v[f.name].isoformat()} 起算），"
                           f"{word}{life.label} {v[life.name]} 年"),
        sql_text=lambda c: concat(verb, " ", _age_sql_text(c(f), as_of), "（自", origin_sql(c), " ", as_text(c(f)),
                                  " 起算），", f"{word}{life.label} ", as_text(c(life)), " 年"),
        figures=[(f.name, lambda v: iso(v[f.name]), lambda c: c(f)),
                 (f"{f.name}_age_months", _guard(f, lambda v: months_between(v[f.name], as_of)),
                  lambda c: months_sql(c(f), as_of)),
                 (life.name, lambda v: v[life.name], lambda c: c(life))]
        + [(e.name, (lambda v, e=e: iso(v[e.name])), (lambda c, e=e: c(e))) for e in extra],
        extra=extra,
    )


def _enum_label_sql(f: Field, c):
    return sa.case(*[(c(f) == m.value, lit(m.label)) for m in f.enum], else_=as_text(c(f)))


def grade_at_or_below(category: Category, grade: str) -> Atom:
    """Condition grade at or below `grade` on the five-grade scale (e.g. 较差 covers 较差 and 差)."""
    f = resolve(category, "condition_grade")
    limit = ConditionGrade(grade)
    hits = [g.value for g in ConditionGrade if g.rank >= limit.rank]
    return Atom(
        needs=[f],
        py_cond=lambda v: ConditionGrade(v[f.name]).rank >= limit.rank,
        sql_cond=lambda c: c(f).in_(hits),
        py_text=lambda v: f"状况等级为{ConditionGrade(v[f.name]).label}（{limit.label}及以下）",
        sql_text=lambda c: concat("状况等级为", _enum_label_sql(f, c), f"（{limit.label}及以下）"),
        figures=[(f.name, lambda v: iso(v[f.name]), lambda c: c(f))],
    )


def enum_in(category: Category, field_name: str, values: list[str]) -> Atom:
    """An enumerated field holding one of `values`."""
    f = resolve(category, field_name)
    wanted = set(values)
    return Atom(
        needs=[f],
        py_cond=lambda v: iso(v[f.name]) in wanted,
        sql_cond=lambda c: c(f).in_(sorted(wanted)),
        py_text=lambda v: f"{f.label}为{f.enum(iso(v[f.name])).label}",
        sql_text=lambda c: concat(f"{f.label}为", _enum_label_sql(f, c)),
        figures=[(f.name, lambda v: iso(v[f.name]), lambda c: c(f))],
    )


def flag(category: Category, field_name: str, expected: bool) -> Atom:
    """A yes/no field holding `expected`."""
    f = resolve(category, field_name)
    text = FLAG_TEXT.get(f.name, {}).get(expected) or f"{f.label}：{'是' if expected else '否'}"
    return Atom(
        needs=[f],
        py_cond=lambda v: bool(v[f.name]) is expected,
        sql_cond=lambda c: c(f) == (sa.true() if expected else sa.false()),
        py_text=lambda v: text,
        sql_text=lambda c: lit(text),
        figures=[(f.name, lambda v: v[f.name], lambda c: c(f))],
    )


def _guard(f: Field, fn):
    """Wrap a figure reader so a missing value gives None instead of an error."""
    return lambda v: None if v[f.name] is None else fn(v)


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def number_between(category: Category, field_name: str, low, high, unit: str = "", show_value: bool = True) -> Atom:
    """A numeric field in [low, high) (either end may be None); shows the value when it is an integer column."""
    f = resolve(category, field_name)
    if low is not None and high is not None:
        band = f"{_num(low)}～{_num(high)} {unit}（不含 {_num(high)}）"
    elif low is not None:
        band = f"不低于 {_num(low)} {unit}"
    else:
        band = f"低于 {_num(high)} {unit}"

    def py_cond(v):
        x = v[f.name]
        return (low is None or x >= low) and (high is None or x < high)

    def sql_cond(c):
        parts = []
        if low is not None:
            parts.append(c(f) >= low)
        if high is not None:
            parts.append(c(f) < high)
        return sa.and_(*parts)

    if show_value:
        py_text = lambda v: f"{f.label} {v[f.name]} {unit}，{band}"  # noqa: E731
        sql_text = lambda c: concat(f"{f.label} ", as_text(c(f)), f" {unit}，{band}")  # noqa: E731
    else:
        py_text = lambda v: f"{f.label}{band}"  # noqa: E731
        sql_text = lambda c: lit(f"{f.label}{band}")  # noqa: E731
    return Atom(needs=[f], py_cond=py_cond, sql_cond=sql_cond, py_text=py_text, sql_text=sql_text,
                figures=[(f.name, lambda v: float(v[f.name]) if isinstance(v[f.name], Decimal) else v[f.name],
                          lambda c: c(f))])
