"""Export of filtered lists (web, API, CLI), the shared filters, and the export -> import round trip."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from registry.assets.filters import AssetFilters, filter_conditions, parse_filters
from registry.assets.models import Asset
from registry.audit.models import AuditRecord
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from tests import factories
from tests.excel_helpers import snapshot, upload


def _download(client, url):
    resp = client.get(url)
    data = resp.data
    resp.close()
    return resp, data


def _codes(data: bytes, sheet: str) -> list[str]:
    ws = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    return [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]


def test_parse_filters_accepts_values_and_labels_and_names_bad_ones(ctx):  # the year limit reads TIMEZONE
    f = parse_filters({"category": "电梯", "status": "in_use", "grade": "较差", "age_min": "10", "q": " XZ "})
    assert f == AssetFilters(category=Category.ELEVATOR, status=LifecycleStatus.IN_USE, grade=ConditionGrade.POOR,
                             age_min=10, q="XZ")
    with pytest.raises(ValidationFailed) as exc:
        parse_filters({"category": "飞机", "age_min": "老", "year": "3000", "age_max": "1"})
    # Keyed by parameter name; each message starts with the parameter's Chinese name.
    assert set(exc.value.errors) == {"category", "age_min", "year"}
    assert exc.value.errors["category"][0].startswith("类别：")
    assert exc.value.errors["age_min"][0].startswith("使用年限下限：")
    assert exc.value.errors["year"][0].startswith("投入使用年份：")
    with pytest.raises(ValidationFailed) as exc:
        parse_filters({"age_min": "9", "age_max": "3"})
    assert exc.value.errors["age_max"][0].startswith("使用年限上限：")


def test_filters_select_the_right_assets(ctx):
    owner = factories.make_unit("甲公司", township="龙湖镇")
    old = factories.make_asset(Category.ELEVATOR, owner=owner, commissioned_on=date(2000, 3, 1),
                               condition_grade=ConditionGrade.POOR, code="XZ-DT-OLD")
    new = factories.make_asset(Category.ELEVATOR, commissioned_on=date(2020, 3, 1), status=LifecycleStatus.IDLE)
    car = factories.make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2020, 1, 1), registered_on=date(2005, 1, 1))
    today = date(2026, 3, 1)

    def ids(**args):
        conds = filter_conditions(parse_filters(args), today)
        return set(db.session.scalars(sa.select(Asset.id).where(*conds)))
    assert ids(category="elevator") == {old.id, new.id}
    assert ids(township="龙湖镇") == {old.id}
    assert ids(owner_unit="甲公司") == ids(owner_unit=str(owner.id)) == {old.id}
    assert ids(status="停用") == {new.id}
    assert ids(grade="poor") == {old.id}
    assert ids(age_min="26") == {old.id}  # 2000-03-01 is 26 on 2026-03-01
    assert ids(age_min="21") == {old.id, car.id}  # the car counts from its registration in 2005
    assert ids(age_min="27") == set()
    assert ids(age_max="6") == {new.id}
    assert ids(year="2020") == {new.id}
    assert ids(year="2005") == {car.id}  # a car's year is its registration year, as on the list page
    assert ids(q="xz-dt-o") == ids(q="XZ-DT-OLD") == {old.id}
    assert ids(q="DT-OLD") == set()  # a code matches from its beginning, as on the list page
    assert ids(unit="甲公") == {old.id}
    assert ids(department="jgsw") == {car.id}


def test_web_export_respects_filters_scope_and_is_audited(app, client, login):
    with app.app_context():
        a = factories.make_asset(Category.ELEVATOR, status=LifecycleStatus.IDLE)
        factories.make_asset(Category.ELEVATOR)
        factories.make_asset(Category.OFFICIAL_CAR)
        code = a.code
    login("inspector", "zjj")
    resp, data = _download(client, "/assets/export?category=elevator&status=idle")
    assert resp.status_code == 200 and resp.mimetype.endswith("sheet")
    assert _codes(data, "电梯") == [code]
    info = dict(openpyxl.load_workbook(io.BytesIO(data))["导出信息"].iter_rows(values_only=True))
    assert info["使用状态"] == "停用" and info["记录数"] == "1"
    resp, data = _download(client, "/assets/export?category=official_car")
    assert resp.status_code == 200 and _codes(data, "公务用车") == []  # another department's assets
    with app.app_context():
        audits = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "asset.export")).all()
        assert len(audits) == 2 and '"status": "idle"' in audits[0].details
    resp, _ = _download(client, "/assets/export?category=elevator&age_min=x")
    assert resp.status_code == 422 and "不是整数" in resp.get_data(as_text=True)
    assert _download(client, "/assets/export")[0].status_code == 422


def test_api_export_and_roles(app, client, login):
    with app.app_context():
        factories.make_asset(Category.FARM_MACHINE)
    assert client.get("/api/v1/assets/export?category=farm_machine").status_code == 401
    login("taskforce", None)
    resp, data = _download(client, "/api/v1/assets/export?category=farm_machine")
    assert resp.status_code == 200 and len(_codes(data, "农业机械")) == 1
    bad, _ = _download(client, "/api/v1/assets/export?category=farm_machine&grade=wonderful")
    assert bad.status_code == 422 and bad.json["errors"]["grade"][0].startswith("状况等级：")
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/assets/export" in spec["paths"]
    client.post("/logout")
    login("auditor", None)
    assert _download(client, "/api/v1/assets/export?category=farm_machine")[0].status_code == 403


def test_cli_export(app, runner, tmp_path):
    with app.app_context():
        factories.make_asset(Category.PIPE, condition_grade=ConditionGrade.BAD)
        factories.make_asset(Category.PIPE, condition_grade=ConditionGrade.GOOD)
    out = tmp_path / "pipes.xlsx"
    result = runner.invoke(args=["registry", "export", "--category", "pipe", "--grade", "差", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "已导出 1 条" in result.output and len(_codes(out.read_bytes(), "市政管道设施")) == 1
    bad = runner.invoke(args=["registry", "export", "--category", "pipe", "--year", "abc", "--out", str(out)])
    assert bad.exit_code == 1 and "不是整数" in bad.output


@pytest.mark.parametrize("category", list(Category))
def test_export_reimports_unchanged(app, client, login, category):
    with app.app_context():
        from registry.demo.inventory import seed_demo
        seed_demo(60)
        dept = {Category.OFFICIAL_CAR: "jgsw", Category.FARM_MACHINE: "nync",
                Category.MEDICAL_DEVICE: "wjw"}.get(category, "zjj")
    login("maintainer", dept)
    resp, data = _download(client, f"/assets/export?category={category.value}")
    assert resp.status_code == 200
    assert len(_codes(data, category.label)) > 0
    with app.app_context():
        before = snapshot()
    resp = upload(client, data, "export.xlsx")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200, text
    assert "更新 0 台" in text and "新建 0 台" in text
    with app.app_context():
        assert snapshot() == before


def test_list_page_exports_exactly_what_it_lists(app, client, login):
    """The list page's export link carries its filters; the workbook holds the same assets."""
    import io
    import re
    from html import unescape

    from openpyxl import load_workbook
    with app.app_context():
        owner = factories.make_unit("乙公司", township="龙湖镇")
        factories.make_asset(Category.ELEVATOR, owner=owner, code="XZ-DT-KEEP1",
                                    commissioned_on=date(2001, 5, 1))
        factories.make_asset(Category.ELEVATOR, code="XZ-DT-DROP1", commissioned_on=date(2001, 5, 1))
        factories.make_asset(Category.ELEVATOR, owner=owner, code="XZ-DT-YOUNG", commissioned_on=date(2022, 5, 1))
    login("maintainer", "zjj")
    html = client.get("/assets/c/elevator?unit=乙公&age_min=20&q=XZ-DT").get_data(as_text=True)
    assert "XZ-DT-KEEP1" in html and "XZ-DT-DROP1" not in html and "XZ-DT-YOUNG" not in html
    link = unescape(re.search(r'href="([^"]*/assets/export[^"]*)"', html).group(1))
    with client.get(link) as resp:
        assert resp.status_code == 200
        data = resp.data
    book = load_workbook(io.BytesIO(data), read_only=True)
    codes = {row[0] for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             if row and isinstance(row[0], str) and row[0].startswith("XZ-DT-")}
    book.close()
    assert codes == {"XZ-DT-KEEP1"}
