"""Sparse filters: a bounded walk of the sort index, then the rest collected by the filters' indexes.

Every page walk (next and back) must equal the full sorted result whichever way a page was read:
with a walk budget smaller than the category, the dense filters fill pages inside the walk and
the sparse ones go through the collecting query.
"""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from registry.assets import queries
from registry.assets.filters import filter_conditions, parse_filters
from registry.assets.models import EXPRESSION_INDEXES, Asset
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.extensions import db
from tests.factories import make_asset, make_unit, make_user
from tests.test_inventory_lists import walk_pages

SORTS = ["id", "-id", "code", "-code", "commissioned_on", "-commissioned_on"]


@pytest.fixture
def fleet(ctx):
    """40 elevators and 12 cars: most in use, a few scrapped; some without a commissioning date."""
    school = make_unit("新郑市实验学校", township="龙湖镇")
    assets = []
    for i in range(40):
        assets.append(make_asset(
            Category.ELEVATOR, code=f"DT-{(i * 17) % 40:03d}", owner=school if i % 3 == 0 else None,
            commissioned_on=None if i % 7 == 0 else date(2000 + i % 20, 1 + i % 12, 1),
            condition_grade=ConditionGrade.BAD if i % 2 else ConditionGrade.GOOD,
            status=LifecycleStatus.SCRAPPED if i in (5, 23, 38) else LifecycleStatus.IN_USE,
            township="龙湖镇" if i % 3 == 0 else "新建路街道"))
    for i in range(12):
        assets.append(make_asset(
            Category.OFFICIAL_CAR, code=f"CAR-{i:03d}", commissioned_on=date(2005 + i, 5, 1),
            registered_on=None if i % 4 == 0 else date(2006 + i, 2, 1)))
    return assets


def _walk(f, user, limit):
    return walk_pages(f, user, limit, summary=True)


def _page(args: dict, user, limit: int):
    return queries.list_assets(parse_filters(MultiDict(args), Category.ELEVATOR), user, limit=limit, summary=True)


def _expected(f, sort: str) -> list[int]:
    """The rows `f` selects, in the list's order, by one plain query (the definition)."""
    col = getattr(Asset, sort.lstrip("-"))
    desc = sort.startswith("-")
    order = [col.is_(None), col.desc() if desc else col.asc(), Asset.id.desc() if desc else Asset.id.asc()]
    return list(db.session.scalars(sa.select(Asset.id).where(*filter_conditions(f)).order_by(*order)))


@pytest.fixture
def statements(ctx):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def _collected(sql: list[str]) -> int:
    """Count the statements that collected ids through the filters' indexes (merged arms or unindexed order)."""
    return sum("arm_0" in s or "coalesce(assets.id, assets.id)" in s.lower() for s in sql)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("args", [
    {},  # no filter: the plain walk
    {"grade": "bad"},  # dense: half the elevators
    {"status": "scrapped"},  # sparse: 3 of 40
    {"township": "龙湖镇", "grade": "good"},
    {"year": "2003"},
    {"age_min": "100"},  # nothing matches
    {"unit": "实验学校", "status": "in_use"},
    {"township": "龙湖镇", "year": "2003"},  # two indexed filters: intersected (SQLite), or the fewer leads
    {"grade": "bad", "age_min": "100"},  # two indexed filters, one with no ids at all
])
def test_every_walk_equals_the_full_sort_with_a_small_budget(fleet, monkeypatch, sort, args):
    monkeypatch.setattr(queries, "WALK_BUDGET", 5)
    user = make_user("taskforce")
    f = parse_filters(MultiDict({**args, "sort": sort}), Category.ELEVATOR)
    expected = _expected(f, sort)
    seen, back, pages = _walk(f, user, limit=4)
    assert seen == expected
    assert back == expected[:len(back)] and len(back) == len(expected) - len(pages[-1].items)


@pytest.mark.parametrize("sort", SORTS)
def test_the_budget_changes_the_plan_not_the_rows(fleet, monkeypatch, sort):
    user = make_user("maintainer", "zjj")
    f = parse_filters(MultiDict({"status": "scrapped", "sort": sort}), Category.ELEVATOR)
    results = []
    for budget in (1, 3, 5, 1000):
        monkeypatch.setattr(queries, "WALK_BUDGET", budget)
        results.append(_walk(f, user, limit=2)[0])
    assert results[0] == results[1] == results[2] == results[3] == _expected(f, sort)
    assert len(results[0]) == 3


def test_a_sparse_filter_is_collected_and_a_dense_one_is_walked(fleet, monkeypatch, statements):
    monkeypatch.setattr(queries, "WALK_BUDGET", 10)
    monkeypatch.setattr(queries, "EXTENDED_WALK", 2)
    user = make_user("taskforce")
    statements.clear()
    page = _page({"status": "scrapped"}, user, 5)
    assert [r.status for r in page.items] == [LifecycleStatus.SCRAPPED] * 3
    # 10 walked rows held one scrapped elevator: at that density a page is 40 rows away, past 2 budgets.
    assert _collected(statements) == 1
    statements.clear()
    page = _page({"grade": "bad"}, user, 4)
    assert len(page.items) == 4 and _collected(statements) == 0  # 10 walked rows held 5 bad ones
    statements.clear()
    _page({}, user, 4)
    assert len(statements) == 1  # no filter: one walk, no bound


def test_a_few_matches_in_the_first_walk_walk_on_instead_of_collecting(fleet, monkeypatch, statements):
    monkeypatch.setattr(queries, "WALK_BUDGET", 10)
    user = make_user("taskforce")
    statements.clear()
    page = _page({"status": "scrapped"}, user, 3)
    assert [r.status for r in page.items] == [LifecycleStatus.SCRAPPED] * 3
    assert _collected(statements) == 0  # one in the first 10 rows: the other two within the 40 walked next


@pytest.mark.parametrize("wide", [0, 10**6])
@pytest.mark.parametrize("args", [
    {"township": "龙湖镇", "grade": "good", "age_min": "10"},
    {"grade": "bad", "status": "in_use", "age_max": "20"},
    {"township": "新建路街道", "status": "in_use", "age_min": "12"},
])
def test_a_date_range_beside_merged_indexes_is_looked_up_or_tested_on_each_row(fleet, monkeypatch, statements,
                                                                                 wide, args):
    """A narrow range's ids are gathered once; a wide one is tested on each candidate row: the same pages."""
    monkeypatch.setattr(queries, "WALK_BUDGET", 5)
    monkeypatch.setattr(queries, "FEW_CANDIDATES", 1)  # the range does not lead on its own
    monkeypatch.setattr(queries, "WIDE_RANGE", wide)
    user = make_user("taskforce")
    f = parse_filters(MultiDict(args), Category.ELEVATOR)
    expected = _expected(f, "id")
    statements.clear()
    seen, back, pages = _walk(f, user, limit=3)
    assert seen == expected and len(expected) > 3
    assert back == expected[:len(back)] and len(back) == len(expected) - len(pages[-1].items)
    merged = [s for s in statements if "arm_0" in s]
    assert merged and all(("arm_0.id IN (SELECT" in s) == bool(wide) for s in merged)


def test_merged_arms_after_the_first_read_their_own_index_on_sqlite(fleet, monkeypatch, statements):
    """SQLite is told to probe each further arm's (category, column, id) index, not the candidate's row."""
    monkeypatch.setattr(queries, "WALK_BUDGET", 5)
    user = make_user("taskforce")
    f = parse_filters(MultiDict({"township": "龙湖镇", "grade": "good", "status": "in_use"}), Category.ELEVATOR)
    expected = _expected(f, "id")
    statements.clear()
    seen, _back, _pages = _walk(f, user, limit=3)
    assert seen == expected and len(expected) > 3
    merged = [s for s in statements if "arm_0" in s]
    assert merged
    hinted = ["AS arm_1 INDEXED BY ix_assets_category_", "AS arm_2 INDEXED BY ix_assets_category_"]
    sqlite = db.engine.dialect.name == "sqlite"
    assert all(all((h in s) == sqlite for h in hinted) and "arm_0 INDEXED BY" not in s for s in merged)


@pytest.mark.parametrize("args, codes", [
    ({"year": "2012"}, ["CAR-006"]),  # registered 2012 (commissioned 2011); CAR-007 was commissioned in 2012
    ({"year": "2009"}, ["CAR-003", "CAR-004"]),  # registered 2009; unregistered, commissioned 2009
    ({"age_min": "15"}, None), ({"age_max": "12"}, None),
])
def test_car_ages_count_from_registration_on_both_plans(fleet, monkeypatch, args, codes):
    user = make_user("taskforce")
    f = parse_filters(MultiDict(args), Category.OFFICIAL_CAR)
    found = []
    for budget in (2, 1000):
        monkeypatch.setattr(queries, "WALK_BUDGET", budget)
        found.append(_walk(f, user, limit=3)[0])
    assert found[0] == found[1] == _expected(f, "id") != []
    if codes:
        assert list(db.session.scalars(sa.select(Asset.code).where(Asset.id.in_(found[0])).order_by(Asset.id))) == codes


def test_list_rows_name_their_units(fleet):
    user = make_user("taskforce")
    school = fleet[0].owner_unit
    f = parse_filters(MultiDict({"unit": "实验学校"}), Category.ELEVATOR)
    page = queries.list_assets(f, user, limit=50, summary=True)
    assert page.items and {(r.owner_name, r.user_name) for r in page.items} == {(school.name, school.name)}


def index_definitions(table):
    """Every index the database holds on a table, name to definition; SQLite's inspector skips expression indexes."""
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                                  {"t": table})
    else:
        rows = db.session.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table})
    return {name: (sql or "") for name, sql in rows}


def test_the_car_age_index_exists_on_the_database(ctx):
    sql = index_definitions("assets").get(EXPRESSION_INDEXES[0])
    assert sql is not None and "coalesce(registered_on, commissioned_on)" in sql.lower()
