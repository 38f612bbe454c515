"""The pure planner: priority order, quotas, budgets, pins, explanations; and input validation."""
from __future__ import annotations

import pytest

from registry.enums import Category, RuleOutcome
from registry.errors import ValidationFailed
from registry.planning.builder import Candidate, Settings, build, priority_key
from registry.planning.inputs import parse_budgets, parse_pin_year, parse_quotas, parse_years

CAR = Category.OFFICIAL_CAR


def cand(asset_id, outcome=RuleOutcome.MANDATORY_RENEWAL, overdue=0, beyond=None, cond=None, cat=CAR, cost=100):
    return Candidate(asset_id, f"A{asset_id}", cat, 2, "新建路街道", outcome, overdue, beyond, cond, "XZ-12",
                     "test", cost)


def test_outcome_severity_order():
    order = sorted(RuleOutcome, key=lambda o: -o.severity)
    assert [o.label for o in order] == ["报废", "淘汰", "强制更新", "安全评估", "建议更新"]


def test_priority_mandatory_overdue_first_then_severity_then_age_then_condition():
    items = [
        cand(1, RuleOutcome.SUGGESTED_RENEWAL, beyond=9),
        cand(2, RuleOutcome.SCRAP),
        cand(3, RuleOutcome.MANDATORY_RENEWAL, overdue=2),
        cand(4, RuleOutcome.PHASE_OUT, beyond=1, cond=5),
        cand(5, RuleOutcome.PHASE_OUT, beyond=3),
        cand(6, RuleOutcome.PHASE_OUT, beyond=1, cond=2),
        cand(7, RuleOutcome.SAFETY_ASSESSMENT, overdue=12),  # overdue but not mandatory: no head start
    ]
    assert [c.asset_id for c in sorted(items, key=priority_key)] == [3, 2, 5, 4, 6, 7, 1]


def test_quota_fills_years_in_order_and_explains():
    items = [cand(i, overdue=10 - i) for i in range(1, 6)]
    result = build(items, Settings(years=[2025, 2026, 2027], quotas={("official_car", 2025): 2,
                                                                     ("official_car", 2026): 2,
                                                                     ("official_car", 2027): 0}))
    years = {c.asset_id: y for c, y, *_ in result.rows}
    assert years == {1: 2025, 2: 2025, 3: 2026, 4: 2026, 5: None}
    texts = {c.asset_id: t for c, _y, _r, _p, t in result.rows}
    assert texts[1] == "列入2025年：强制更新，已逾期 9 个月"
    assert texts[3] == "列入2026年：强制更新，已逾期 7 个月（2025年配额或预算已满）"
    assert texts[5].startswith("未能列入：强制更新，已逾期 5 个月")
    # Infeasible quota is a shortfall with the list of assets that do not fit, not an error.
    assert [c.asset_id for c, _ in result.unplaced] == [5]
    assert result.over_quota == []


def test_budget_limits_a_year_and_cheaper_assets_may_still_fit():
    items = [cand(1, overdue=5, cost=300), cand(2, overdue=4, cost=300), cand(3, overdue=3, cost=100)]
    result = build(items, Settings(years=[2025, 2026], budgets={2025: 450, 2026: 300}))
    years = {c.asset_id: y for c, y, *_ in result.rows}
    assert years == {1: 2025, 2: 2026, 3: 2025}
    assert result.spent == {2025: 400, 2026: 300}


def test_pins_are_honoured_and_overruns_reported():
    items = [cand(1, overdue=5), cand(2, overdue=4), cand(3, RuleOutcome.SUGGESTED_RENEWAL)]
    result = build(items, Settings(years=[2025, 2026], quotas={("official_car", 2025): 1,
                                                               ("official_car", 2026): 1},
                                   pins={3: 2025, 99: 2026}))
    rows = {c.asset_id: (y, pinned, text) for c, y, _r, pinned, text in result.rows}
    assert rows[3] == (2025, True, "列入2025年（人工指定）：建议更新")
    assert rows[1][0] == 2026 and rows[2][0] is None
    assert result.stale_pins == [99]
    assert result.over_quota == []  # the pin used the 2025 quota; nothing exceeded it

    over = build(items, Settings(years=[2025], quotas={("official_car", 2025): 1}, pins={1: 2025, 3: 2025}))
    assert over.over_quota == [{"category": "official_car", "year": 2025, "quota": 1, "planned": 2}]


def test_no_quota_means_no_limit():
    result = build([cand(i) for i in range(1, 50)], Settings(years=[2025, 2026]))
    assert {y for _c, y, *_ in result.rows} == {2025}


@pytest.mark.parametrize("start,end,field,fragment", [
    (2027, 2025, "year_to", "年度范围颠倒"),
    (2023, 2025, "year_from", "超出方案期限（2024—2027 年）"),
    (2025, 2030, "year_to", "超出方案期限"),
    ("abc", 2025, "year_from", "不是数字"),
    (None, 2025, "year_from", "请填写起始年度"),
])
def test_bad_year_ranges_are_rejected(start, end, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        parse_years(start, end)
    assert any(fragment in m for m in exc.value.errors[field])


def test_good_year_range():
    assert parse_years("2025", 2027) == (2025, 2027)


@pytest.mark.parametrize("raw,fragment", [
    ({"official_car": {"2025": -1}}, "不能小于 0"),
    ({"official_car": {"2025": "十"}}, "不是数字"),
    ({"official_car": {"2025": 1.5}}, "必须是整数"),
    ({"official_car": {"2030": 3}}, "不在计划年度范围内"),
    ({"飞机": {"2025": 3}}, "未知的设备类别"),
])
def test_bad_quotas_are_rejected(raw, fragment):
    with pytest.raises(ValidationFailed) as exc:
        parse_quotas(raw, [2025, 2026])
    assert any(fragment in m for msgs in exc.value.errors.values() for m in msgs)


def test_quotas_accept_labels_and_blank():
    assert parse_quotas({"公务用车": {"2025": "10", "2026": ""}}, [2025, 2026]) == {"official_car": {"2025": 10}}


@pytest.mark.parametrize("raw", [{"2025": -5}, {"2025": "many"}, {"2025": "nan"}, {"2025": True}])
def test_bad_budgets_are_rejected(raw):
    with pytest.raises(ValidationFailed):
        parse_budgets(raw, [2025])


def test_pin_year_must_be_in_plan():
    assert parse_pin_year("2026", [2025, 2026]) == 2026
    with pytest.raises(ValidationFailed):
        parse_pin_year("2028", [2025, 2026])
