"""The bulk import's fast parsers (`fields.compile_parser`) answer exactly as `fields.parse_value`.

Every field of every category is fed awkward cells (ints around the bounds and MAX_MAGNITUDE, bools,
numeric and padded strings, control characters, dates in and out of range); the value, its type,
the warning and any refusal's message must be the same, also when the parser meets a value again.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from registry.assets.fields import FieldError, compile_parser, fields_for, parse_value
from registry.enums import Category
from registry.inputs import MAX_MAGNITUDE, MAX_NUMBER_CHARS

TODAY = date(2024, 6, 1)
SPECS = {(s.name, s.kind, s.table): s for c in Category for s in fields_for(c)}.values()

INTS = [0, 1, -1, 5, 24, 99, 100, 101, 200, 201, 630, 1000, 10000, 10001, 100000, 100001, 5000000, 5000001,
        10**18, 10**23, MAX_MAGNITUDE - 1, MAX_MAGNITUDE, -MAX_MAGNITUDE + 1, -MAX_MAGNITUDE, 10**30, -10**30,
        int(1e24), int(1e24) + 1, -int(1e24), 10**5000, 42000, 2015, 1900, 2100, 2958465, 2958466]
FLOATS = [0.0, -0.0, 1.0, 1.5, 0.005, 24.0, 100.0, 1e24, -1e24, 1e25, float("inf"), float("-inf"), float("nan"),
          42000.0, 42000.5, 2015.0, 1e18, 123.0]
STRINGS = ["", " ", "\t", "\u3000", "0", "1", "007", "24", "630", "1000", "100001", "1,000", " 12 ", "12 ", "１２",
           "²", "١٢", "1.5", "1.", ".5", "1e5", "-5", "+5", "0x10", "9" * 23, "9" * 24, "9" * MAX_NUMBER_CHARS,
           "9" * (MAX_NUMBER_CHARS + 1), "1" + "0" * 24, "是", "否", "√", "y", "True", "abc", "a\x01b", "a\nb",
           "a\tb", "a\rb", "\x7f", "\ud800", "abc\xa0", "\u3000abc", "x" * 16, "x" * 17, "x" * 40, "x" * 41,
           "x" * 120, "x" * 121, "x" * 2001, "曳引", "traction", "曳引 ", "好", "新建路街道", "0371-62345678",
           "0371 6234\n5678", "2015-06-01", "2015-6-1", "2015.6.1", "2015/06/01", "2015年6月1日", "2015年6月",
           "20150601", "2015-02-30", "1899-12-31", "2024-06-01", "2024-06-02", "2029-06-01", "2029-06-02",
           "2015-06-01 10:00", "42000"]
OTHERS = [None, True, False, Decimal("1.5"), Decimal("NaN"), date(2015, 6, 1), date(1899, 12, 31), date(1900, 1, 1),
          TODAY, TODAY + timedelta(days=1), date(2029, 6, 1), date(2029, 6, 2), datetime(2015, 6, 1, 3, 4),
          datetime(2024, 6, 2, 0, 0)]
VALUES = INTS + FLOATS + STRINGS + OTHERS


def _outcome(parse, raw):
    try:
        value, warning = parse(raw)
    except (FieldError, ValueError) as exc:  # ValueError: str() of a 5,000-digit int, on both paths
        return "refused", type(exc).__name__, str(exc)
    if isinstance(value, float) and value != value:
        value = "nan"
    return "ok", type(value).__name__, value, warning


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.table}.{s.name}")
def test_fast_parser_agrees_with_parse_value(spec):
    fast = compile_parser(spec, TODAY)
    for raw in VALUES:
        want = _outcome(lambda v: parse_value(spec, v, TODAY), raw)
        assert _outcome(fast, raw) == want, (spec.name, raw)
        assert _outcome(fast, raw) == want, (spec.name, raw, "second time")


def test_the_fast_paths_are_taken(monkeypatch):
    """Ints, digit strings, clean text and repeated text dates never reach parse_value."""
    from registry.assets import fields

    calls = []
    monkeypatch.setattr(fields, "parse_value", lambda *a: calls.append(a[1]) or (None, None))
    specs = {s.name: s for s in fields_for(Category.ELEVATOR)}
    assert compile_parser(specs["floors"], TODAY)(24) == (24, None)
    assert compile_parser(specs["rated_load_kg"], TODAY)("1000") == (1000, None)
    assert compile_parser(specs["rated_speed_ms"], TODAY)(2) == (Decimal(2), None)
    assert compile_parser(specs["residential_community"], TODAY)(" 锦绣小区 ") == ("锦绣小区", None)
    dates = compile_parser(specs["commissioned_on"], TODAY)
    dates("2015.06.01")
    dates("2015.06.01")
    assert calls == ["2015.06.01"]
    assert compile_parser(specs["floors"], TODAY)(True) == (None, None)  # a bool asks the general path
    assert compile_parser(specs["residential_community"], TODAY)("a\x01b") == (None, None)
    assert calls == ["2015.06.01", True, "a\x01b"]
