"""Scheduled planning work: the yearly draft (job `yearly-planning-draft` in the jobs catalog)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.enums import PlanStatus
from registry.extensions import db
from registry.planning.inputs import PLAN_PERIOD
from registry.planning.models import Plan
from registry.planning.services import create_plan


def build_yearly_draft(as_of: date) -> int | None:
    """Build a citywide draft from next year to the end of the plan period; return its id (None past the period).

    Idempotent per year: a second run the same year returns the existing automatic draft.
    """
    start = max(as_of.year + 1, PLAN_PERIOD[0])
    if start > PLAN_PERIOD[1]:
        return None
    name = f"{start}—{PLAN_PERIOD[1]}年全市设备更新计划（自动草稿 {as_of.year}）"
    existing = db.session.scalar(sa.select(Plan.id).where(Plan.name == name, Plan.status == PlanStatus.DRAFT))
    if existing:
        return existing
    return create_plan(year_from=start, year_to=PLAN_PERIOD[1], name=name).id


def draft_yearly_plan(ctx) -> dict:
    """Job `yearly-planning-draft` (1 January): build the automatic draft; return its id."""
    return {"plan_id": build_yearly_draft(ctx.as_of)}
