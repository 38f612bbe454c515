"""One filter parser: the list page, the list API and every export read a query string the same way."""
from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from registry import clock
from registry.assets.filters import AssetFilters, limits, parse_filters
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.errors import ValidationFailed
from tests import factories

ROW_LINK = re.compile(r'<td><a href="/assets/(\d+)">([^<]+)</a>')


def _local_year() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


@pytest.fixture
def inventory(app):
    """Two dozen elevators of one department (one soft-deleted) plus other departments' assets."""
    with app.app_context():
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        jia = factories.make_unit("甲物业公司", township="龙湖镇")
        yi = factories.make_unit("乙物业公司", township="新建路街道")
        bing = factories.make_unit("丙学校", township="新建路街道")
        owners = (jia, yi, bing)
        deleted_code = None
        for i in range(24):
            asset = factories.make_asset(
                Category.ELEVATOR, code=f"{'XZ' if i < 16 else 'ZZ'}-DT-{i:05d}",
                name=f"锦绣小区{i}号楼电梯" if i % 4 == 0 else f"电梯{i}", owner=owners[i % 3],
                user_unit=bing if i % 5 == 0 else owners[i % 3], township=owners[i % 3].township,
                commissioned_on=None if i % 7 == 5 else today - timedelta(days=365 * i + 40),
                status=LifecycleStatus.IDLE if i % 4 == 1 else LifecycleStatus.IN_USE,
                condition_grade=ConditionGrade.POOR if i % 2 else ConditionGrade.GOOD,
                deleted_at=datetime.now(timezone.utc) if i == 3 else None)
            if i == 3:
                deleted_code = asset.code
        factories.make_asset(Category.ELEVATOR, code="XZ-DT-OTHER", owner=jia,
                             department=factories.make_user("maintainer", "wjw").department)  # out of scope
        factories.make_asset(Category.OFFICIAL_CAR, owner=jia)
        return {"jia": jia.id, "deleted": deleted_code, "year": today.year - 10}


def _list_page(client, qs: str) -> list[tuple[int, str]]:
    resp = client.get(f"/assets/c/elevator?{qs}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    text = resp.get_data(as_text=True)
    assert 'class="button" href="/assets/c/elevator?cursor=' not in text  # one page holds them all
    body = text[text.index("<tbody>"):text.index("</tbody>")]
    return [(int(i), html.unescape(code)) for i, code in ROW_LINK.findall(body)]


def _list_api(client, qs: str) -> list[tuple[int, str]]:
    resp = client.get(f"/api/v1/assets?category=elevator&limit=200&{qs}")
    assert resp.status_code == 200, resp.json
    assert resp.json["next_cursor"] is None
    return [(item["id"], item["code"]) for item in resp.json["items"]]


def _export(client, url: str) -> list[str]:
    with client.get(url) as resp:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
        data = resp.data
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    codes = [row[0] for row in book["电梯"].iter_rows(min_row=2, values_only=True) if row and row[0]]
    book.close()
    return codes


QUERIES = [
    "",
    "unit=甲物业",
    "owner_unit={jia}",
    "owner_unit=乙物业公司",
    "user_unit=丙学校",
    "unit=物业&age_min=5",
    "age_min=3&age_max=12",
    "year={year}",
    "q=xz-dt-0001",
    "q=锦绣",
    "unit=物业&age_min=2&age_max=20&q=XZ-DT",
    "township=龙湖镇&grade=较差",
    "status=idle&sort=-commissioned_on",
    "sort=code&age_max=15",
    "sort=-id&owner_unit=甲物业公司&user_unit=丙学校",
    "department=zjj&sort=commissioned_on&q=电梯",
    "sort=-code&unit=学校&age_max=9",
]


def test_same_query_string_same_rows_on_list_page_api_and_exports(client, login, inventory):
    login("maintainer", "zjj")
    seen: dict[str, list[str]] = {}
    for template in QUERIES:
        qs = template.format(**inventory)
        page = _list_page(client, qs)
        api = _list_api(client, qs)
        web_export = _export(client, f"/assets/export?category=elevator&{qs}")
        api_export = _export(client, f"/api/v1/assets/export?category=elevator&{qs}")
        assert page == api, qs  # same ids, same order
        codes = [code for _id, code in page]
        assert web_export == api_export == codes, qs  # exports follow `sort` too
        assert codes and "XZ-DT-OTHER" not in codes and inventory["deleted"] not in codes, qs
        seen[template] = codes
    # The filters bite: every query string selects or orders differently, except the one pair that must agree.
    assert seen["unit=甲物业"] == seen["owner_unit={jia}"]
    assert len({tuple(codes) for codes in seen.values()}) == len(QUERIES) - 1
    # 含已删除: the list page and the list API show the deleted asset; exports never write it.
    with_deleted = [code for _id, code in _list_page(client, "deleted=1&unit=物业")]
    assert inventory["deleted"] in with_deleted
    assert [code for _id, code in _list_api(client, "deleted=1&unit=物业")] == with_deleted
    exported = _export(client, "/assets/export?category=elevator&deleted=1&unit=物业")
    assert exported == [c for c in with_deleted if c != inventory["deleted"]]
    assert exported == [code for _id, code in _list_page(client, "unit=物业")]


def _bad_cases():
    nxt = str(_local_year() + 1)
    return [
        ("age_max", "150", "使用年限上限"), ("age_min", "101", "使用年限下限"), ("age_min", "-1", "使用年限下限"),
        ("year", nxt, "投入使用年份"), ("year", "1899", "投入使用年份"), ("age_min", "²", "使用年限下限"),
        ("age_max", "9" * 5000, "使用年限上限"), ("year", "2O12", "投入使用年份"), ("q", "x" * 101, "关键词"),
        ("unit", "物" * 101, "产权/使用单位"), ("owner_unit", "甲" * 101, "产权单位"), ("sort", "name", "排序"),
        ("grade", "极好", "状况等级"), ("status", "丢失", "使用状态"),
    ]


@pytest.mark.parametrize("param, value, label", _bad_cases())
def test_limits_are_identical_on_list_page_api_and_exports(client, login, inventory, param, value, label):
    login("maintainer", "zjj")
    qs = f"{param}={value}"
    api = client.get(f"/api/v1/assets?{qs}")
    assert api.status_code == 422
    message = api.json["errors"][param][0]
    assert message.startswith(f"{label}："), message
    api_export = client.get(f"/api/v1/assets/export?category=elevator&{qs}")
    assert api_export.status_code == 422 and api_export.json["errors"] == {param: [message]}
    page = client.get(f"/assets/c/elevator?{qs}")
    assert page.status_code == 400 and html.escape(message, quote=False) in page.get_data(as_text=True)
    web_export = client.get(f"/assets/export?category=elevator&{qs}")
    assert web_export.status_code == 422 and html.escape(message, quote=False) in web_export.get_data(as_text=True)


def test_the_limits_themselves_are_accepted_everywhere(client, login, inventory):
    login("maintainer", "zjj")
    qs = f"age_min=0&age_max=100&year={_local_year()}"
    assert client.get(f"/assets/c/elevator?{qs}").status_code == 200
    assert client.get(f"/api/v1/assets?{qs}").status_code == 200
    for url in (f"/assets/export?category=elevator&{qs}", f"/api/v1/assets/export?category=elevator&{qs}"):
        with client.get(url) as resp:
            assert resp.status_code == 200


def test_cli_export_has_the_same_limits(app, runner, tmp_path):
    out = str(tmp_path / "x.xlsx")
    for option, value, label in (("--age-max", "150", "使用年限上限"), ("--year", str(_local_year() + 1), "投入使用年份")):
        result = runner.invoke(args=["registry", "export", "--category", "elevator", option, value, "--out", out])
        assert result.exit_code == 1 and f"{label}：应为" in result.output, result.output


def test_parser_reads_every_field_and_keeps_a_path_category(ctx):
    args = {"category": "pipe", "department": "住建局", "owner_unit": "12", "user_unit": "丙学校", "unit": "物业",
            "township": "龙湖镇", "status": "在用", "grade": "poor", "age_min": "0", "age_max": "100",
            "year": "1900", "q": " XZ ", "sort": "-code", "deleted": "1"}
    f = parse_filters(args, Category.ELEVATOR)
    assert f == AssetFilters(category=Category.ELEVATOR, department="住建局", owner_unit=12, user_unit="丙学校",
                             unit="物业", township="龙湖镇", status=LifecycleStatus.IN_USE, grade=ConditionGrade.POOR,
                             age_min=0, age_max=100, year=1900, q="XZ", sort="-code", include_deleted=True)
    # Links carry the filters back unchanged (category as the list page's path, or an export's parameter).
    assert parse_filters(f.as_args()) == f
    assert parse_filters({}) == AssetFilters()
    assert limits() == {"age_min": (0, 100), "age_max": (0, 100), "year": (1900, _local_year())}


def test_year_limit_is_the_current_year_in_shanghai(ctx, monkeypatch):
    # 2025-12-31 17:00 UTC is already 2026-01-01 in Asia/Shanghai: 2026 is this year there.
    instant = datetime(2025, 12, 31, 17, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: instant)
    assert parse_filters({"year": "2026"}).year == 2026
    with pytest.raises(ValidationFailed) as exc:
        parse_filters({"year": "2027"})
    assert exc.value.errors["year"] == ["投入使用年份：应为 1900–2026 之间的整数，「2027」超出范围"]
