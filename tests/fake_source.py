"""A stand-in for the rules engine: fixed, deterministic findings computed in SQL from the assets.

Rule FAKE-10: an asset in use more than 10 years (commissioned before as_of minus 10 years) is a
hit (phase out); more than 11 years makes it overdue; an asset without a commissioning date
cannot be evaluated.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import RuleOutcome
from registry.orgs.models import Unit
from registry.snapshots.source import ROW_FIELDS, SourceResult

RULE_VERSION = {"FAKE-10": 1}


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def collect(as_of: date) -> SourceResult:
    """Return the fake findings as of `as_of`."""
    missing = Asset.commissioned_on.is_(None)
    columns = (
        Asset.id, Asset.code, Asset.name, Asset.category, Asset.department_id, Asset.township, Unit.name,
        sa.literal("FAKE-10"), sa.literal(1), sa.literal("测试规则"), sa.literal(RuleOutcome.PHASE_OUT.value),
        sa.case((missing, "undeterminable"), else_="hit"),
        sa.case((missing, "无法评估：缺少投入使用日期"),
                else_=sa.literal("自 ") + sa.cast(Asset.commissioned_on, sa.String) + " 起使用已超过 10 年"),
        sa.null(),
        sa.case((Asset.commissioned_on < _years_before(as_of, 11), sa.true()), else_=sa.false()),
        sa.cast(sa.null(), sa.JSON),
    )
    select = (sa.select(*(sa.cast(c, sa.Date).label(n) if n == "deadline" else c.label(n)
                          for c, n in zip(columns, ROW_FIELDS)))
              .join(Unit, Unit.id == Asset.owner_unit_id)
              .where(Asset.deleted_at.is_(None), sa.or_(missing, Asset.commissioned_on < _years_before(as_of, 10))))
    return SourceResult(None, dict(RULE_VERSION), select)
