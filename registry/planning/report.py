"""What a plan page, its PDF and its Excel show: built once from the stored plan and its placements."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from registry.orgs.models import Department
from registry.planning.models import Plan, PlanPin, PlanPlacement

PLACEMENT_FIELDS = (PlanPlacement.rank, PlanPlacement.year, PlanPlacement.asset_id, Asset.code, Asset.name,
                    PlanPlacement.category, PlanPlacement.department_id, Asset.township, PlanPlacement.outcome,
                    PlanPlacement.overdue_months, PlanPlacement.years_beyond, PlanPlacement.condition_rank,
                    PlanPlacement.rule_code, PlanPlacement.est_cost, PlanPlacement.pinned,
                    PlanPlacement.explanation, Asset.status)


def department_names() -> dict[int, str]:
    """Return {department id: short name}."""
    return dict(db.session.execute(sa.select(Department.id, Department.name)).tuples().all())


def _placement_conditions(year, unplaced: bool, category: str | None, scope) -> list:
    """Return the conditions shared by `placements` and `count_placements`."""
    conds = [PlanPlacement.year.is_(None) if unplaced else
             PlanPlacement.year == year if year is not None else PlanPlacement.year.is_not(None)]
    if category:
        conds.append(PlanPlacement.category == Category(category))
    if scope is not None:
        conds.append(scope)
    return conds


def placements(plan_id: int, *, year=None, unplaced: bool = False, category: str | None = None,
               scope=None, limit: int | None = None, offset: int = 0):
    """Return placement rows (with asset code/name) in priority order; `unplaced` selects those that do not fit."""
    stmt = (sa.select(*PLACEMENT_FIELDS).join(Asset, Asset.id == PlanPlacement.asset_id)
            .where(PlanPlacement.plan_id == plan_id).order_by(PlanPlacement.rank))
    stmt = stmt.where(*_placement_conditions(year, unplaced, category, scope))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return db.session.execute(stmt).all()


def count_placements(plan_id: int, *, year=None, unplaced: bool = False, category: str | None = None,
                     scope=None) -> int:
    """Return how many rows `placements` would return without a limit."""
    stmt = sa.select(sa.func.count()).select_from(PlanPlacement).join(Asset, Asset.id == PlanPlacement.asset_id)\
        .where(PlanPlacement.plan_id == plan_id)
    stmt = stmt.where(*_placement_conditions(year, unplaced, category, scope))
    return db.session.scalar(stmt)


def pins(plan_id: int):
    """Return the plan's pins in force with asset codes."""
    return db.session.execute(
        sa.select(PlanPin.asset_id, Asset.code, Asset.name, PlanPin.year, PlanPin.reason)
        .join(Asset, Asset.id == PlanPin.asset_id)
        .where(PlanPin.plan_id == plan_id, PlanPin.removed_at.is_(None)).order_by(Asset.code)).all()


def year_table(plan: Plan) -> dict:
    """Return the year x category table of a built plan with quotas, plus costs and budgets per year."""
    summary = plan.summary or {}
    cats = sorted({c for per in summary.get("by_year", {}).values() for c in per}
                  | set(plan.quotas or {}) | set(summary.get("unplaced_by_category", {})),
                  key=lambda c: list(Category).index(Category(c)))
    rows = []
    for year in plan.years:
        per = summary.get("by_year", {}).get(str(year), {})
        cells = [{"category": c, "planned": per.get(c, 0), "quota": (plan.quotas or {}).get(c, {}).get(str(year))}
                 for c in cats]
        rows.append({"year": year, "cells": cells, "total": sum(per.values()),
                     "cost": summary.get("cost_by_year", {}).get(str(year), 0),
                     "budget": (plan.budgets or {}).get(str(year))})
    return {"categories": [Category(c) for c in cats], "rows": rows}
