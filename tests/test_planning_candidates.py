"""The adapter from rules findings to planner candidates, and a plan built from a real evaluation."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from registry.enums import Category, ConditionGrade, FarmMachineType, LifecycleStatus, RuleOutcome
from registry.extensions import db
from registry.planning import candidates, services
from registry.planning.models import PlanPlacement
from registry.planning.reference import ensure_planning_reference
from registry.rules.models import Evaluation, Finding, Rule
from tests.factories import make_asset

AS_OF = date(2026, 6, 30)


def _rule(code, outcome, params=None, category="official_car"):
    rule = Rule(code=code, version=1, category=category, title=code, citation="新政〔2024〕3号", kind="age_over",
                params=params or {"years": 8}, outcome=outcome)
    db.session.add(rule)
    db.session.flush()
    return rule


def _finding(ev, asset, rule, *, result="hit", overdue=False, deadline=None, figures=None):
    db.session.add(Finding(evaluation_id=ev.id, asset_id=asset.id, rule_id=rule.id, rule_code=rule.code,
                           rule_version=1, outcome=rule.outcome, result=result, explanation=f"{rule.code} 发现",
                           deadline=deadline, overdue=overdue, as_of=AS_OF, figures=figures))


def test_adapter_keeps_the_first_ranked_finding_per_asset(ctx):
    ensure_planning_reference()
    soft = _rule("SOFT", RuleOutcome.SUGGESTED_RENEWAL)
    hard = _rule("HARD", RuleOutcome.MANDATORY_RENEWAL, {"terms": [{"kind": "age_over", "params": {"years": 10}}]})
    ev = Evaluation(as_of=AS_OF, finished_at=datetime.now(timezone.utc))
    old = Evaluation(as_of=date(2025, 1, 1), finished_at=datetime.now(timezone.utc))
    db.session.add_all([ev, old])
    db.session.flush()
    car = make_asset(Category.OFFICIAL_CAR, condition_grade=ConditionGrade.POOR)
    tractor = make_asset(Category.FARM_MACHINE, detail={"machine_type": FarmMachineType.TRACTOR_LARGE})
    done = make_asset(Category.OFFICIAL_CAR, status=LifecycleStatus.SCRAPPED)
    unsure = make_asset(Category.OFFICIAL_CAR)
    _finding(ev, car, soft, figures={"age_start_age_months": 150})
    _finding(ev, car, hard, overdue=True, deadline=date(2025, 12, 31), figures={"age_start_age_months": 150})
    _finding(ev, tractor, soft, figures={"commissioned_on_age_months": 120})
    _finding(ev, done, hard)
    _finding(ev, unsure, hard, result="undeterminable")
    db.session.commit()

    assert candidates.latest_evaluation() == (ev.id, AS_OF)
    got = {c.asset_id: c for c in candidates.load_candidates(ev.id)}
    assert set(got) == {car.id, tractor.id}
    c = got[car.id]
    assert (c.rule_code, c.outcome, c.overdue_months, c.years_beyond, c.condition_rank, c.est_cost) == \
        ("HARD", RuleOutcome.MANDATORY_RENEWAL, 5, 2.5, 4, 180_000)
    assert got[tractor.id].est_cost == 300_000 and got[tractor.id].years_beyond == 2.0
    jgsw = car.department_id
    assert {c.asset_id for c in candidates.load_candidates(ev.id, jgsw)} == {car.id}
    assert candidates.flagged_asset_ids(ev.id, [car.id, done.id, unsure.id]) == {car.id}


def test_plan_from_a_real_evaluation(ctx):
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs
    ensure_planning_reference()
    seed_packs(("plan",))
    old_poor = make_asset(Category.OFFICIAL_CAR, registered_on=date(2015, 3, 1), commissioned_on=date(2015, 3, 1),
                          condition_grade=ConditionGrade.POOR)
    young = make_asset(Category.OFFICIAL_CAR, registered_on=date(2023, 3, 1), commissioned_on=date(2023, 3, 1),
                       condition_grade=ConditionGrade.POOR)
    evaluate_inventory(AS_OF)
    plan = services.create_plan(year_from=2025, year_to=2027, department_code="jgsw")
    rows = dict(db.session.execute(sa.select(PlanPlacement.asset_id, PlanPlacement.explanation)
                                   .where(PlanPlacement.plan_id == plan.id)).tuples().all())
    assert young.id not in rows
    assert rows[old_poor.id].startswith("列入2025年：强制更新")
