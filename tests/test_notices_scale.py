"""Notice sources at city scale: id lists longer than one SQL statement can bind (PostgreSQL: 65,535)."""
from __future__ import annotations

from datetime import date

from registry.enums import Category
from tests.notice_factories import issue_signed
from registry.notices.sources import _held_asset_ids, mandatory_items
from registry.rules.services import evaluate_inventory
from registry.rules.versions import seed_packs
from tests.factories import make_asset
from tests.test_jobs_wiring import WORN

MANY = 70_000  # more than PostgreSQL's 65,535 parameters per statement


def test_mandatory_items_and_held_assets_take_very_long_id_lists(ctx):
    seed_packs(("plan",))
    old = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1),
                     manufactured_on=date(2010, 1, 1), design_life_years=10, detail=WORN)
    evaluate_inventory(date(2025, 3, 1))
    ids = list(range(10**7, 10**7 + MANY)) + [old.id]
    items = mandatory_items(old.department, asset_ids=ids)
    assert items and {i.asset.id for i in items} == {old.id}
    assert _held_asset_ids(set(ids)) == set()
    issue_signed(items, issued_on=date(2025, 3, 2), render=False)
    assert _held_asset_ids(set(ids)) == {old.id}
