"""Adapter from the rules engine's findings to planner candidates (the only module that reads registry.rules).

One SQL query reads every "hit" finding of an evaluation joined with its asset; Python
then keeps, per asset, the finding that ranks first (most severe / most overdue).
"""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset, ConstructionMachineDetail, FarmMachineDetail
from registry.enums import Category, ConditionGrade, LifecycleStatus, RuleOutcome
from registry.extensions import db
from registry.planning.builder import Candidate, priority_key
from registry.planning.models import ReplacementCost
from registry.rules import services as rules_services
from registry.rules.models import Evaluation, Finding, Rule

# Assets already renewed or scrapped are done, not candidates.
DONE_STATUSES = (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED)
_RANK = {g.value: g.rank for g in ConditionGrade}


def latest_evaluation() -> tuple[int, date] | None:
    """Return (id, as_of) of the evaluation plans are built from: the latest whole-inventory one, or None.

    A plan spans every category, so a category-only run never feeds it (rules.services.latest_evaluation).
    """
    evaluation = rules_services.latest_evaluation()
    return (evaluation.id, evaluation.as_of) if evaluation is not None else None


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


def _raw(column):
    # Plain driver values: SQLAlchemy's per-value enum/date/JSON processing costs more than the query at 100k rows.
    return sa.type_coerce(column, sa.String)


def finding_rows(evaluation_id: int, department_id: int | None = None):
    """Return the SQL select of hit findings joined with live, not-yet-done assets (one row per finding)."""
    subtype = sa.func.coalesce(ConstructionMachineDetail.machine_type, FarmMachineDetail.machine_type, "",
                               type_=sa.String)
    stmt = (
        sa.select(Finding.asset_id, Asset.code, _raw(Asset.category).label("category"), Asset.department_id,
                  Asset.township, _raw(Finding.outcome).label("outcome"), Finding.overdue,
                  _raw(Finding.deadline).label("deadline"), _raw(Finding.figures).label("figures"), Finding.rule_id,
                  Finding.rule_code, _raw(Asset.condition_grade).label("condition_grade"), subtype.label("subtype"))
        .join(Asset, Asset.id == Finding.asset_id)
        .outerjoin(ConstructionMachineDetail, ConstructionMachineDetail.asset_id == Asset.id)
        .outerjoin(FarmMachineDetail, FarmMachineDetail.asset_id == Asset.id)
        .where(Finding.evaluation_id == evaluation_id, Finding.result == "hit", Asset.deleted_at.is_(None),
               Asset.status.notin_(DONE_STATUSES))
    )
    if department_id is not None:
        stmt = stmt.where(Asset.department_id == department_id)
    return stmt


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _json(value) -> dict | None:
    if value is None or isinstance(value, dict):
        return value
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


def load_candidates(evaluation_id: int, department_id: int | None = None) -> list[Candidate]:
    """Return one Candidate per flagged asset of the evaluation: its highest-priority finding."""
    as_of = db.session.scalar(sa.select(Evaluation.as_of).where(Evaluation.id == evaluation_id))
    params = dict(db.session.execute(sa.select(Rule.id, Rule.params)).tuples().all())
    costs = cost_table()
    categories = {c.value: c for c in Category}
    outcomes = {o.value: o for o in RuleOutcome}
    best: dict[int, Candidate] = {}
    for (asset_id, code, cat_value, dept_id, township, outcome_value, overdue, deadline, figures, rule_id,
         rule_code, grade, subtype) in db.session.execute(finding_rows(evaluation_id, department_id)).tuples():
        months = months_between(_date(deadline), as_of) if (overdue and deadline) else 0
        cost = costs.get((cat_value, subtype or ""), costs.get((cat_value, "")))
        c = Candidate(asset_id, code, categories[cat_value], dept_id, township, outcomes[outcome_value], months,
                      years_beyond(_json(figures), params.get(rule_id)), _RANK.get(grade) if grade else None,
                      rule_code, "", cost)
        held = best.get(asset_id)
        # Most assets have one finding: compare priorities only when a second one turns up.
        if held is None or priority_key(c) < priority_key(held):
            best[asset_id] = c
    return list(best.values())


def flagged_asset_ids(evaluation_id: int, asset_ids: list[int]) -> set[int]:
    """Return which of `asset_ids` are candidates of the evaluation (hit finding, live, not done): pinnable."""
    if not asset_ids:
        return set()
    sub = finding_rows(evaluation_id).where(Asset.id.in_(asset_ids)).subquery()
    return set(db.session.scalars(sa.select(sub.c.asset_id).distinct()))
