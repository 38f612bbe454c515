"""Filtered keyset lists: every page walk (next and back) equals the full sorted result."""
from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from registry import clock
from registry.assets import queries
from registry.assets.filters import AssetFilters, parse_filters
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.errors import ValidationFailed
from tests.factories import make_asset, make_unit, make_user


@pytest.fixture
def fleet(ctx):
    school = make_unit("新郑市实验学校", township="龙湖镇")
    assets = []
    for i in range(13):
        assets.append(make_asset(
            Category.ELEVATOR, code=f"DT-{(i * 7) % 13:03d}", owner=school if i % 3 == 0 else None,
            commissioned_on=None if i % 4 == 0 else date(2000 + i, 3, 1),
            condition_grade=ConditionGrade.BAD if i % 2 else ConditionGrade.GOOD,
            township="龙湖镇" if i % 3 == 0 else "新建路街道"))
    make_asset(Category.MEDICAL_DEVICE)
    return assets


def walk_pages(f, user, limit, **options):
    """Walk every page forwards, then back from the last; return (ids forwards, ids backwards, pages)."""
    seen, cursor, pages = [], None, []
    while True:
        page = queries.list_assets(f, user, cursor, limit, **options)
        pages.append(page)
        seen.extend(a.id for a in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    back = []
    page = pages[-1]
    while page.prev_cursor:
        page = queries.list_assets(f, user, page.prev_cursor, limit, **options)
        back = [a.id for a in page.items] + back
    return seen, back, pages


@pytest.mark.parametrize("sort", ["id", "-id", "code", "-code", "commissioned_on", "-commissioned_on"])
def test_keyset_walk_matches_full_sort(fleet, sort):
    user = make_user("maintainer", "zjj")
    f = parse_filters(MultiDict({"sort": sort}), Category.ELEVATOR)
    key = sort.lstrip("-")
    present = [a for a in fleet if getattr(a, key) is not None]
    missing = [a for a in fleet if getattr(a, key) is None]
    expected = [a.id for a in sorted(present, key=lambda a: (getattr(a, key), a.id), reverse=sort.startswith("-"))]
    expected += sorted((a.id for a in missing), reverse=sort.startswith("-"))  # NULLs last, by id
    seen, back, pages = walk_pages(f, user, limit=4)
    assert seen == expected
    assert back == expected[:len(back)] and len(back) == len(expected) - len(pages[-1].items)
    assert pages[0].prev_cursor is None


def test_filters_and_scope(fleet):
    user = make_user("maintainer", "zjj")
    f = parse_filters(MultiDict({"township": "龙湖镇", "grade": "差"}), Category.ELEVATOR)
    got = {a.id for a in queries.list_assets(f, user, limit=50).items}
    assert got == {a.id for a in fleet if a.township == "龙湖镇" and a.condition_grade is ConditionGrade.BAD}
    assert queries.count_assets(f, user) == len(got)
    f = parse_filters(MultiDict({"unit": "实验学校"}), Category.ELEVATOR)
    assert len(queries.list_assets(f, user).items) == 5
    f = parse_filters(MultiDict({"year": "2005"}), Category.ELEVATOR)
    assert [a.commissioned_on for a in queries.list_assets(f, user).items] == [date(2005, 3, 1)]
    today = clock.today()
    f = parse_filters(MultiDict({"age_min": str(today.year - 2011 - 1), "age_max": str(today.year - 2009)}),
                              Category.ELEVATOR)
    # Full years on today: born 2011-03-01 is (year-2011-1) or (year-2011) years old, both within range.
    got = sorted(a.commissioned_on.year for a in queries.list_assets(f, user, as_of=today).items)
    expected = [y for y in (2009, 2010, 2011)
                if today.year - 2011 - 1 <= today.year - y - ((today.month, today.day) < (3, 1)) <= today.year - 2009]
    assert got == expected and got
    f = parse_filters(MultiDict({"q": "DT-00"}), Category.ELEVATOR)
    assert {a.code for a in queries.list_assets(f, user).items} == {f"DT-00{i}" for i in range(10)}
    f = parse_filters(MultiDict({"status": LifecycleStatus.SCRAPPED.value}), Category.ELEVATOR)
    assert queries.list_assets(f, user).items == []
    outsider = make_user("maintainer", "wjw")
    assert queries.list_assets(parse_filters(MultiDict(), Category.ELEVATOR), outsider).items == []
    assert queries.list_assets(parse_filters(MultiDict(), None), make_user("auditor", None)).items == []


def test_bad_filters_and_cursor_are_chinese_400s(ctx):
    with pytest.raises(ValidationFailed) as exc:
        parse_filters(MultiDict({"age_min": "abc", "grade": "极好", "year": "3000", "sort": "name"}))
    assert set(exc.value.errors) == {"age_min", "grade", "year", "sort"}
    with pytest.raises(ValidationFailed):
        queries.list_assets(AssetFilters(), make_user("taskforce", None), cursor="not-a-cursor")


def test_keyword_is_code_prefix_or_name_substring(fleet):
    user = make_user("taskforce", None)
    by = lambda q: {a.code for a in queries.list_assets(  # noqa: E731
        parse_filters(MultiDict({"q": q}), Category.ELEVATOR), user).items}
    assert by("dt-01") == {"DT-010", "DT-011", "DT-012"}  # prefix, case-insensitive
    assert by("01") == set()  # not a prefix
    assert by("电梯") == {a.code for a in fleet}  # Chinese: substring of the name
    assert by(f"梯{fleet[4].name.removeprefix('电梯')}") == {fleet[4].code}
