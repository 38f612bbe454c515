"""Adapter from the rules engine's findings to planner candidates (the only module that reads registry.rules).

One SQL query reads every "hit" finding of an evaluation joined with its asset; Python
then keeps, per asset, the finding that ranks first (most severe / most overdue).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset, ConstructionMachineDetail, FarmMachineDetail
from registry.enums import Category, ConditionGrade, LifecycleStatus, RuleOutcome
from registry.extensions import db
from registry.planning.builder import Candidate, priority_key
from registry.planning.models import ReplacementCost

# Assets already renewed or scrapped are done, not candidates.
DONE_STATUSES = (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED)
_RANK = {g.value: g.rank for g in ConditionGrade}


def latest_evaluation() -> tuple[int, date] | None:
    """Return (id, as_of) of the newest evaluation, preferring whole-inventory runs; None if there is none."""
    from registry.rules.models import Evaluation
    row = db.session.execute(
        sa.select(Evaluation.id, Evaluation.as_of).where(Evaluation.finished_at.is_not(None))
        .order_by(Evaluation.category.is_(None).desc(), Evaluation.as_of.desc(), Evaluation.id.desc()).limit(1)
    ).first()
    return (row.id, row.as_of) if row else None


def cost_table() -> dict[tuple[str, str], int]:
    """Return {(category, asset_type): 元} from the editable estimates."""
    rows = db.session.execute(sa.select(ReplacementCost.category, ReplacementCost.asset_type,
                                        ReplacementCost.unit_cost)).all()
    return {(_value(c), t or ""): cost for c, t, cost in rows}


def _value(v) -> str:
    return v.value if hasattr(v, "value") else v


def months_between(start: date, end: date) -> int:
    """Return whole calendar months from `start` to `end` (0 when end is not after start)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)
    return max(months, 0)


def _param_years(params) -> float | None:
    """Return the first age threshold ("years") in a rule's parameters, looking into composed terms."""
    if not isinstance(params, dict):
        return None
    if isinstance(params.get("years"), (int, float)):
        return params["years"]
    for term in params.get("terms") or []:
        found = _param_years(term.get("params") if isinstance(term, dict) else None)
        if found is not None:
            return found
    return None


def years_beyond(figures: dict | None, params: dict | None) -> float | None:
    """Return age beyond the rule's threshold in years, from the finding's figures and the rule's parameters."""
    if not figures:
        return None
    age_months = next((v for k, v in figures.items() if k.endswith("_age_months") and isinstance(v, (int, float))),
                      None)
    if age_months is None:
        return None
    limit = figures.get("design_life_years") or figures.get("specified_service_life_years") or _param_years(params)
    if not isinstance(limit, (int, float)):
        return None
    return round(age_months / 12 - limit, 2)


def finding_rows(evaluation_id: int, department_id: int | None = None):
    """Return the SQL select of hit findings joined with live, not-yet-done assets (one row per finding)."""
    from registry.rules.models import Finding, Rule
    subtype = sa.func.coalesce(ConstructionMachineDetail.machine_type, FarmMachineDetail.machine_type, "",
                               type_=sa.String)
    stmt = (
        sa.select(Finding.asset_id, Asset.code, Asset.category, Asset.department_id, Asset.township,
                  Finding.outcome, Finding.overdue, Finding.deadline, Finding.as_of, Finding.figures,
                  Rule.params, Finding.rule_code, Finding.explanation, Asset.condition_grade,
                  subtype.label("subtype"))
        .join(Asset, Asset.id == Finding.asset_id)
        .join(Rule, Rule.id == Finding.rule_id)
        .outerjoin(ConstructionMachineDetail, ConstructionMachineDetail.asset_id == Asset.id)
        .outerjoin(FarmMachineDetail, FarmMachineDetail.asset_id == Asset.id)
        .where(Finding.evaluation_id == evaluation_id, Finding.result == "hit", Asset.deleted_at.is_(None),
               Asset.status.notin_(DONE_STATUSES))
    )
    if department_id is not None:
        stmt = stmt.where(Asset.department_id == department_id)
    return stmt


def load_candidates(evaluation_id: int, department_id: int | None = None) -> list[Candidate]:
    """Return one Candidate per flagged asset of the evaluation: its highest-priority finding."""
    costs = cost_table()
    best: dict[int, tuple] = {}
    for r in db.session.execute(finding_rows(evaluation_id, department_id).execution_options(yield_per=20_000)):
        cat = Category(_value(r.category))
        outcome = RuleOutcome(_value(r.outcome))
        overdue = months_between(r.deadline, r.as_of) if (r.overdue and r.deadline) else 0
        grade = _value(r.condition_grade)
        figures = r.figures if isinstance(r.figures, dict) else None
        cost = costs.get((cat.value, _value(r.subtype) or ""), costs.get((cat.value, "")))
        c = Candidate(r.asset_id, r.code, cat, r.department_id, r.township, outcome, overdue,
                      years_beyond(figures, r.params if isinstance(r.params, dict) else None),
                      _RANK.get(grade) if grade else None, r.rule_code, r.explanation, cost)
        key = priority_key(c)
        held = best.get(c.asset_id)
        if held is None or key < held[0]:
            best[c.asset_id] = (key, c)
    return [c for _key, c in best.values()]


def flagged_asset_ids(evaluation_id: int, asset_ids: list[int]) -> set[int]:
    """Return which of `asset_ids` are candidates of the evaluation (hit finding, live, not done): pinnable."""
    if not asset_ids:
        return set()
    sub = finding_rows(evaluation_id).where(Asset.id.in_(asset_ids)).subquery()
    return set(db.session.scalars(sa.select(sub.c.asset_id).distinct()))
