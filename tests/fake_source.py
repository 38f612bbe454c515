"""A stand-in for the rules engine: fixed, deterministic findings computed from the assets.

Rule FAKE-10: an asset in use more than 10 years is a hit (phase out), due one year after it
turns 10; an asset without a commissioning date cannot be evaluated.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import RuleOutcome
from registry.extensions import db
from registry.orgs.models import Unit
from registry.snapshots.source import SourceResult

RULE_VERSION = {"FAKE-10": 1}


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def collect(as_of: date) -> SourceResult:
    """Return the fake findings as of `as_of`."""
    rows = []
    query = (sa.select(Asset.id, Asset.code, Asset.name, Asset.category, Asset.department_id, Asset.township,
                       Unit.name, Asset.commissioned_on)
             .join(Unit, Unit.id == Asset.owner_unit_id).where(Asset.deleted_at.is_(None)))
    for asset_id, code, name, category, dept, township, owner, commissioned in db.session.execute(query):
        base = dict(asset_id=asset_id, asset_code=code, asset_name=name, category=category, department_id=dept,
                    township=township, owner_unit=owner, rule_code="FAKE-10", rule_version=RULE_VERSION["FAKE-10"],
                    citation="测试规则", outcome=RuleOutcome.PHASE_OUT, figures=None)
        if commissioned is None:
            rows.append(dict(base, result="undeterminable", explanation="无法评估：缺少投入使用日期",
                             deadline=None, overdue=False))
            continue
        ten = _add_years(commissioned, 10)
        if as_of > ten:
            deadline = _add_years(ten, 1)
            rows.append(dict(base, result="hit", explanation=f"自 {commissioned} 起使用已超过 10 年",
                             deadline=deadline, overdue=as_of > deadline, figures={"years": as_of.year - commissioned.year}))
    return SourceResult(None, dict(RULE_VERSION), rows)
