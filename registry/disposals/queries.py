"""Read-only figures from disposal and replacement records, per department, category and year.

These are the one definition of what the progress dashboard counts as done (a disposal record,
dated by its disposal date — not the asset's status), of the investment made (replacement records,
by the new asset's department and category, dated by the replacement date), of scrapped cars
recycled (disposals by 报废拆解 with a 报废机动车回收证明 number) and of the new-energy share of
replacement vehicles. `scope` is an asset condition (assets.scoping.asset_scope) applied to the
disposed asset, or to the new asset of a replacement.
"""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.disposals.models import Disposal, Replacement
from registry.enums import Category, DisposalWay
from registry.extensions import db

# The registry's vehicles: official cars (一般公务、执法执勤、特种专业技术用车). It holds no public-transport
# category (公交车、出租车), so the new-energy share of "official and public vehicles" is this one category.
VEHICLE_CATEGORIES = (Category.OFFICIAL_CAR,)

# Every figure groups by the record's year FIRST: grouped by department and category first, SQLite walked
# all assets along ix_assets_department_category_id (60 ms at 100k assets, growing with the inventory)
# instead of the few thousand records (10 ms); PostgreSQL plans both orders alike.


def _scoped(stmt, scope):
    return stmt.where(Asset.deleted_at.is_(None)) if scope is None else stmt.where(Asset.deleted_at.is_(None), scope)


def disposed_by_year(scope=None) -> Counter:
    """Return {(department_id, category value, year): assets with a disposal record dated that year}."""
    year = sa.extract("year", Disposal.disposed_on)
    stmt = (sa.select(Asset.department_id, Asset.category, year, sa.func.count())
            .join(Asset, Asset.id == Disposal.asset_id).group_by(year, Asset.department_id, Asset.category))
    rows = db.session.execute(_scoped(stmt, scope)).all()
    return Counter({(d, Category(c).value, int(y)): n for d, c, y, n in rows})


def disposed_assets(department_id: int, category: Category, year: int | None = None, scope=None,
                    limit: int = 500) -> list[dict]:
    """Return the disposed assets behind one figure (code, name, status, disposal date, way, receiver)."""
    stmt = (sa.select(Asset.id, Asset.code, Asset.name, Asset.status, Disposal.disposed_on.label("at"), Disposal.way,
                      Disposal.receiver)
            .join(Asset, Asset.id == Disposal.asset_id)
            .where(Asset.department_id == department_id, Asset.category == category))
    if year is not None:
        stmt = stmt.where(sa.extract("year", Disposal.disposed_on) == year)
    return [dict(r._mapping) for r in db.session.execute(_scoped(stmt, scope).order_by(Asset.code).limit(limit))]


def investment_by_year(scope=None) -> dict[tuple[int, str, int], Decimal]:
    """Return {(department_id, category value, year): 元 invested in replacements that year}."""
    year = sa.extract("year", Replacement.replaced_on)
    stmt = (sa.select(Asset.department_id, Asset.category, year, sa.func.sum(Replacement.investment_yuan))
            .join(Asset, Asset.id == Replacement.new_asset_id).group_by(year, Asset.department_id, Asset.category))
    return {(d, Category(c).value, int(y)): Decimal(total or 0)
            for d, c, y, total in db.session.execute(_scoped(stmt, scope)).all()}


def recycled_cars_by_year(scope=None) -> Counter:
    """Return {(department_id, year): vehicles scrapped and dismantled with a 报废机动车回收证明 that year}."""
    year = sa.extract("year", Disposal.disposed_on)
    stmt = (sa.select(Asset.department_id, year, sa.func.count()).join(Asset, Asset.id == Disposal.asset_id)
            .where(Disposal.way == DisposalWay.SCRAP_DISMANTLE, Disposal.recycling_certificate_no.is_not(None))
            .group_by(year, Asset.department_id))
    return Counter({(d, int(y)): n for d, y, n in db.session.execute(_scoped(stmt, scope)).all()})


def vehicle_replacements_by_year(scope=None) -> dict[tuple[int, int], tuple[int, int]]:
    """Return {(department_id, year): (replacement vehicles, of which new-energy)} from replacement records."""
    year = sa.extract("year", Replacement.replaced_on)
    stmt = (sa.select(Asset.department_id, year, sa.func.count(),
                      sa.func.sum(sa.case((Replacement.new_energy.is_(True), 1), else_=0)))
            .join(Asset, Asset.id == Replacement.new_asset_id)
            .where(Asset.category.in_(VEHICLE_CATEGORIES)).group_by(year, Asset.department_id))
    return {(d, int(y)): (n, int(ne or 0)) for d, y, n, ne in db.session.execute(_scoped(stmt, scope)).all()}
