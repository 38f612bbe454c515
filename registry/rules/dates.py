"""Calendar periods counted the way 民法典 arts. 201/202 count them.

A period of N months from `start` ends on the same day N months later; when that day does not
exist (29 February, 31 April …) it ends on the last day of that month. Everything else in the
engine (thresholds for SQL, ages in explanations) derives from `add_months` and `months_between`.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta


# Dates rules are evaluated on: thresholds reach decades back, deadlines years ahead, within `date`'s range.
AS_OF_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def last_day(year: int, month: int) -> int:
    """Return the number of days in `month` of `year`."""
    return calendar.monthrange(year, month)[1]


def add_months(start: date, months: int) -> date:
    """Return the day a period of `months` months from `start` ends (art. 202: clamp to month end)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, last_day(year, month)))


def anniversary(start: date, years: int) -> date:
    """Return the Nth anniversary of `start`; 29 February falls on 28 February in common years."""
    return add_months(start, 12 * years)


def months_between(start: date, ref: date) -> int:
    """Return the whole months elapsed from `start` to `ref`: the largest k with add_months(start, k) <= ref.

    Closed form (mirrored in SQL): 12*(y2-y1) + (m2-m1), minus one when ref's day falls before the
    clamped day of start in ref's month.
    """
    months = (ref.year * 12 + ref.month) - (start.year * 12 + start.month)
    month_end = last_day(ref.year, ref.month)
    if ref.day < month_end and start.day > ref.day:
        months -= 1
    return months


def reached(start: date, years: int, ref: date, inclusive: bool) -> bool:
    """Tell whether `start` is N years old at `ref`: 以上 (inclusive) on the anniversary, 超过 the day after."""
    day = anniversary(start, years)
    return day <= ref if inclusive else day < ref


def threshold(ref: date, years: int, inclusive: bool) -> date:
    """Return the latest start date that is N years old at `ref` (so SQL can test `start <= threshold`)."""
    limit = ref if inclusive else ref - timedelta(days=1)
    # Start from the naive calendar answer and walk; at most a few days either way (Feb 29 cases).
    day = min(limit.day, last_day(limit.year - years, limit.month))
    candidate = date(limit.year - years, limit.month, day)
    while anniversary(candidate, years) > limit:
        candidate -= timedelta(days=1)
    while anniversary(candidate + timedelta(days=1), years) <= limit:
        candidate += timedelta(days=1)
    return candidate


def age_text(start: date, ref: date) -> str:
    """Return 「11 年 2 个月」 for the whole years and months from `start` to `ref`."""
    months = months_between(start, ref)
    return f"{months // 12} 年 {months % 12} 个月"
