"""Inventory counts for the home page."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from registry.orgs.models import Department


def inventory_counts(asset_filter=None) -> dict:
    """Return live asset counts per category, per department, and per department x category."""
    query = sa.select(Asset.department_id, Asset.category, sa.func.count()).where(Asset.deleted_at.is_(None))
    if asset_filter is not None:
        query = query.where(asset_filter)
    rows = db.session.execute(query.group_by(Asset.department_id, Asset.category)).all()
    departments = {d.id: d for d in db.session.scalars(sa.select(Department).order_by(Department.id))}
    by_category = {c: 0 for c in Category}
    by_department: dict[int, dict] = {}
    for dept_id, category, count in rows:
        by_category[category] += count
        entry = by_department.setdefault(dept_id, {"department": departments[dept_id], "total": 0, "by_category": {}})
        entry["total"] += count
        entry["by_category"][category] = count
    return {
        "total": sum(by_category.values()),
        "by_category": by_category,
        "by_department": sorted(by_department.values(), key=lambda e: e["department"].id),
    }
