"""Rules engine: counting periods, readings, explanations, missing data, deadlines, versions, validation."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.bulk import LARGE_LOAD_CACHE_SIZE
from registry.enums import Category, ConditionGrade, MachineType, RuleOutcome
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.rules import services
from registry.rules.dates import age_text, anniversary, reached, threshold
from registry.rules.kinds import UnknownKind, get_kind
from registry.rules.models import Finding, Rule
from registry.rules.versions import save_new_version, seed_packs, validate_rule
from tests.factories import make_asset


# --- calendar periods (pure) -------------------------------------------------------------------
def test_feb_29_anniversary_falls_on_feb_28():
    assert anniversary(date(2016, 2, 29), 1) == date(2017, 2, 28)
    assert anniversary(date(2016, 2, 29), 4) == date(2020, 2, 29)


@pytest.mark.parametrize("start,ref,inclusive,expected", [
    (date(2014, 6, 1), date(2024, 6, 1), False, False),   # exactly 10 years is not "over 10"
    (date(2014, 6, 1), date(2024, 6, 2), False, True),    # the day after it is
    (date(2016, 3, 1), date(2024, 3, 1), True, True),     # "8 years and above" counts on the day
    (date(2016, 3, 1), date(2024, 2, 29), True, False),
    (date(2016, 2, 29), date(2025, 2, 28), True, True),   # 9th anniversary of Feb 29 is Feb 28, 2025
    (date(2016, 2, 29), date(2025, 2, 28), False, False),
    (date(2016, 2, 29), date(2025, 3, 1), False, True),
    (date(2016, 2, 28), date(2024, 2, 28), True, True),
    (date(2016, 2, 29), date(2024, 2, 28), True, False),  # leap target year: anniversary is Feb 29
])
def test_reached_follows_civil_code(start, ref, inclusive, expected):
    years = anniversary_years = ref.year - start.year
    assert reached(start, anniversary_years, ref, inclusive) is expected
    assert (start <= threshold(ref, years, inclusive)) is expected


def test_age_text_counts_whole_months():
    assert age_text(date(2013, 9, 1), date(2024, 11, 15)) == "11 年 2 个月"
    assert age_text(date(2024, 1, 31), date(2024, 2, 29)) == "0 年 1 个月"  # month end clamps (art. 202)
    assert age_text(date(2024, 2, 29), date(2025, 2, 28)) == "1 年 0 个月"


# --- the engine on real rows ------------------------------------------------------------------
@pytest.fixture
def rules(ctx):
    seed_packs(("plan",))
    return ctx


def _one(asset, as_of, code):
    found = [f for f in services.evaluate_asset(asset, as_of) if f.rule_code == code]
    return found[0] if found else None


def test_construction_machine_over_ten_years_explained_with_figures_and_citation(rules):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1),
                       detail={"emission_stage": "stage4", "wear_grade": "light"})
    finding = _one(asset, date(2024, 11, 15), "XZ-8a")
    assert finding.result == "hit"
    assert finding.explanation == ("投入使用 11 年 2 个月（自投入使用日期 2013-09-01 起算），超过 10 年"
                                   "（新政〔2024〕3号 二（三）8）")
    assert finding.outcome is RuleOutcome.PHASE_OUT
    assert finding.figures["commissioned_on"] == "2013-09-01"
    assert finding.figures["commissioned_on_age_months"] == 134
    assert finding.deadline == date(2027, 12, 31) and not finding.overdue


def test_exactly_ten_years_is_not_over_ten(rules):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2014, 6, 1),
                       detail={"emission_stage": "stage4", "wear_grade": "light"})
    assert _one(asset, date(2024, 6, 1), "XZ-8a") is None
    assert _one(asset, date(2024, 6, 2), "XZ-8a").result == "hit"


def test_official_car_eight_years_and_above_counts_on_the_day(rules):
    car = make_asset(Category.OFFICIAL_CAR, registered_on=date(2016, 2, 29), commissioned_on=date(2016, 2, 29),
                     condition_grade=ConditionGrade.POOR)
    assert _one(car, date(2024, 2, 28), "XZ-12") is None
    hit = _one(car, date(2024, 2, 29), "XZ-12")
    assert hit.result == "hit"
    assert "登记 8 年 0 个月" in hit.explanation or "使用 8 年 0 个月（自登记日期 2016-02-29 起算）" in hit.explanation
    assert "状况等级为较差" in hit.explanation


def test_good_car_is_not_flagged_and_missing_grade_is_undeterminable(rules):
    good = make_asset(Category.OFFICIAL_CAR, registered_on=date(2010, 1, 1), condition_grade=ConditionGrade.FAIR)
    assert _one(good, date(2024, 6, 1), "XZ-12") is None
    unknown = make_asset(Category.OFFICIAL_CAR, registered_on=date(2010, 1, 1), condition_grade=None)
    finding = _one(unknown, date(2024, 6, 1), "XZ-12")
    assert finding.result == "undeterminable"
    assert finding.explanation.startswith("无法判定：缺少状况等级")
    # A young car with no grade still passes: the age alone settles it.
    young = make_asset(Category.OFFICIAL_CAR, registered_on=date(2022, 1, 1), condition_grade=None)
    assert _one(young, date(2024, 6, 1), "XZ-12") is None


def test_missing_commissioning_date_is_reported_never_passed(rules):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=None,
                       detail={"emission_stage": "stage4", "wear_grade": "light"})
    finding = _one(asset, date(2024, 6, 1), "XZ-8a")
    assert finding.result == "undeterminable"
    assert finding.explanation.startswith("无法判定：缺少投入使用日期")


def test_pipe_past_design_life_is_overdue_after_2024(rules):
    from registry.enums import PipeFacilityType
    pipe = make_asset(Category.PIPE, commissioned_on=date(1990, 5, 1), design_life_years=30,
                      detail={"facility_type": PipeFacilityType.PIPE, "meets_standards": True})
    before = _one(pipe, date(2024, 12, 31), "XZ-9a")
    after = _one(pipe, date(2025, 1, 1), "XZ-9a")
    assert before.deadline == after.deadline == date(2024, 12, 31)
    assert not before.overdue and after.overdue
    assert "超过设计使用年限 30 年" in after.explanation


def test_xz7_covers_residential_elevators_and_unstated_ones_on_both_paths(rules):
    old = {"configuration_level": "medium", "faults_last_12m": 0, "assessment_conclusion": "continue"}
    homes = make_asset(Category.ELEVATOR, commissioned_on=date(2000, 1, 1), detail=dict(old, serves_housing=True))
    office = make_asset(Category.ELEVATOR, commissioned_on=date(2000, 1, 1), detail=dict(old, serves_housing=False))
    unstated = make_asset(Category.ELEVATOR, commissioned_on=date(2000, 1, 1), detail=dict(old, serves_housing=None))
    as_of = date(2024, 6, 1)
    assert _one(homes, as_of, "XZ-7").result == "hit" and _one(unstated, as_of, "XZ-7").result == "hit"
    assert _one(office, as_of, "XZ-7") is None
    evaluation = services.evaluate_inventory(as_of)
    hits = set(db.session.scalars(sa.select(Finding.asset_id).where(Finding.evaluation_id == evaluation.id,
                                                                    Finding.rule_code == "XZ-7")))
    assert hits == {homes.id, unstated.id}


@pytest.mark.parametrize("scope,fragment", [
    ({"serves_housing": ["yes"]}, "true、false"), ({"serves_housing": [None]}, "true、false"),
    ({"floors": [6]}, "没有可用于限定范围的字段"), ({"elevator_type": [True]}, "traction"),
])
def test_scope_values_are_checked(rules, scope, fragment):
    rule = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-7"))
    with pytest.raises(ValidationFailed) as exc:
        save_new_version("XZ-7", {"params": {**rule.params, "scope": scope}})
    assert any(fragment in m for m in exc.value.errors["params.scope"]), exc.value.errors
    db.session.rollback()


SOUND = {"emission_stage": "stage4", "wear_grade": "light", "safety_hazard": False, "no_repair_value": False,
         "main_part_damaged": False}


def test_sql_path_persists_the_same_findings(rules):
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1), design_life_years=15, detail=SOUND)
    make_asset(Category.OFFICIAL_CAR, registered_on=date(2010, 1, 1), condition_grade=None)
    evaluation = services.evaluate_inventory(date(2024, 11, 15))
    saved = db.session.scalars(sa.select(Finding).where(Finding.evaluation_id == evaluation.id)).all()
    assert {(f.rule_code, f.result) for f in saved} == {("XZ-8a", "hit"), ("XZ-12", "undeterminable")}
    assert evaluation.rule_versions["XZ-8a"] == 1 and evaluation.finding_count == 2


def test_a_persisted_run_gives_back_the_connections_page_cache(rules):
    """The run widens SQLite's page cache for its inserts, and only for them (PostgreSQL: nothing to set)."""
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1), design_life_years=15, detail=SOUND)
    conn = db.session.connection()
    sqlite = conn.dialect.name == "sqlite"
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    seen = []
    if sqlite:
        def during(_conn, _cursor, statement, *_):
            if statement.startswith("INSERT INTO findings"):
                seen.append(_conn.exec_driver_sql("PRAGMA cache_size").scalar())
        sa.event.listen(db.engine, "after_cursor_execute", during)
    try:
        evaluation = services.evaluate_inventory(date(2024, 11, 15))
    finally:
        if sqlite:
            sa.event.remove(db.engine, "after_cursor_execute", during)
    assert evaluation.finding_count == 1
    if sqlite:
        assert seen and set(seen) == {LARGE_LOAD_CACHE_SIZE} != {before}
        assert db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == before


def test_tower_crane_band_rule(ctx):
    seed_packs(("national",))
    db.session.execute(sa.update(Rule).where(Rule.code == "GB-TC-1").values(enabled=True))
    db.session.commit()
    crane = make_asset(Category.CONSTRUCTION_MACHINE, manufactured_on=date(2009, 1, 10),
                       commissioned_on=date(2009, 3, 1),
                       detail={"machine_type": MachineType.TOWER_CRANE, "rated_moment_knm": 800})
    assert _one(crane, date(2024, 1, 10), "GB-TC-1") is None  # 15 years exactly: not over 15
    hit = _one(crane, date(2024, 1, 11), "GB-TC-1")
    assert "额定起重力矩630～1250 kN·m" in hit.explanation and "超过 15 年" in hit.explanation
    assert hit.outcome is RuleOutcome.SAFETY_ASSESSMENT


# --- versions and validation ----------------------------------------------------------------
def test_editing_creates_a_version_and_old_findings_keep_theirs(rules):
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1), design_life_years=15, detail=SOUND)
    first = services.evaluate_inventory(date(2024, 11, 15))
    rule = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-8a", Rule.is_current.is_(True)))
    params = dict(rule.params)
    params["terms"] = [dict(params["terms"][0], params=dict(params["terms"][0]["params"], years=12))] + params["terms"][1:]
    new = save_new_version("XZ-8a", {"params": params})
    assert new.version == 2
    second = services.evaluate_inventory(date(2024, 11, 15))
    old_findings = db.session.scalars(sa.select(Finding).where(Finding.evaluation_id == first.id)).all()
    assert [(f.rule_code, f.rule_version) for f in old_findings] == [("XZ-8a", 1)]
    assert second.finding_count == 0 and second.rule_versions["XZ-8a"] == 2
    versions = db.session.scalars(sa.select(Rule).where(Rule.code == "XZ-8a").order_by(Rule.version)).all()
    assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]


@pytest.mark.parametrize("change,field,fragment", [
    ({"params": {"years": -3, "reading": "at_least", "date_field": "age_start", "grade": "poor"}},
     "params.years", "1 到 100"),
    ({"params": {"years": 8, "reading": "at_least", "date_field": "age_start", "grade": "terrible"}},
     "params.grade", "状况等级必须是"),
    ({"effective_from": "2025-01-01", "effective_to": "2024-01-01"}, "effective_to", "早于生效日期"),
    ({"params": {"years": 8, "reading": "maybe", "date_field": "age_start", "grade": "poor"}},
     "params.reading", "超过"),
    ({"kind": "age_guess"}, "kind", "未知的规则类型"),
    ({"deadline_policy": {"type": "days_after_notice", "days": 0}}, "deadline_policy", "1 到 3650"),
])
def test_bad_parameters_are_rejected_and_nothing_is_saved(rules, change, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        save_new_version("XZ-12", change)
    assert any(fragment in m for m in exc.value.errors[field]), exc.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rule).where(Rule.code == "XZ-12")) == 1


def test_unknown_kind_fails_loudly(ctx):
    with pytest.raises(UnknownKind):
        get_kind("no_such_kind")
    rule = Rule(code="X", version=1, category=Category.ELEVATOR, title="t", citation="c", kind="no_such_kind",
                params={}, outcome=RuleOutcome.SCRAP, enabled=True, pack="plan", is_current=True)
    from registry.rules.engine import CompiledRule
    with pytest.raises(UnknownKind):
        CompiledRule(rule, date(2024, 1, 1))


def test_every_shipped_rule_validates():
    from registry.rules.packs import NATIONAL_PACK, PLAN_PACK
    for row in PLAN_PACK + NATIONAL_PACK:
        validate_rule(row)
    assert {r["code"] for r in PLAN_PACK} == {"XZ-7", "XZ-8a", "XZ-8b", "XZ-9a", "XZ-9b", "XZ-12", "XZ-13", "XZ-16"}


def test_seed_is_idempotent_and_unverified_ship_disabled(ctx):
    first = seed_packs()
    assert seed_packs() == 0
    rules = db.session.scalars(sa.select(Rule)).all()
    assert len(rules) == first
    assert all(r.enabled for r in rules if r.pack == "plan")
    assert not any(r.enabled for r in rules if not r.verified)


def test_unverified_rule_cannot_be_enabled_without_confirmation(ctx):
    seed_packs(("national",))
    with pytest.raises(ValidationFailed):
        save_new_version("GB-HARVEST", {"enabled": True})
    db.session.rollback()
    assert save_new_version("GB-HARVEST", {"enabled": True, "verified": True}).enabled


def test_evaluate_cli_json(runner, rules):
    import json
    make_asset(Category.CONSTRUCTION_MACHINE, code="JX-CLI-1", commissioned_on=date(2013, 9, 1),
               design_life_years=15, detail=SOUND)
    result = runner.invoke(args=["registry", "evaluate", "--as-of", "2024-11-15", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [{"asset_code": "JX-CLI-1", "asset_name": rows[0]["asset_name"], "rule_code": "XZ-8a",
                     "rule_version": 1, "outcome": "phase_out", "outcome_label": "淘汰", "result": "hit",
                     "explanation": rows[0]["explanation"], "deadline": "2027-12-31", "overdue": False,
                     "as_of": "2024-11-15"}]
    bad = runner.invoke(args=["registry", "evaluate", "--as-of", "2024-13-01"])
    assert bad.exit_code != 0


def test_evaluate_cli_xlsx(runner, rules, tmp_path):
    from openpyxl import load_workbook
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1),
               detail={"emission_stage": "stage4", "wear_grade": "light"})
    out = tmp_path / "f.xlsx"
    result = runner.invoke(args=["registry", "evaluate", "--as-of", "2024-11-15", "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out).active.values)
    assert rows[0][0] == "设备编号" and rows[1][2] == "XZ-8a"


def test_concurrent_edit_is_a_conflict_not_a_500(rules):
    from registry.errors import Conflict
    rule = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-13"))
    # Someone else's version 2 landed between our read and our save.
    db.session.add(Rule(code="XZ-13", version=2, category=rule.category, title=rule.title, citation=rule.citation,
                        kind=rule.kind, params=rule.params, outcome=rule.outcome, enabled=True, pack="plan",
                        is_current=False))
    db.session.commit()
    with pytest.raises(Conflict):
        save_new_version("XZ-13", {"title": "新标题"})
    assert db.session.scalar(sa.select(Rule.title).where(Rule.code == "XZ-13", Rule.version == 1)) == rule.title
