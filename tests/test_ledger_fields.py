"""The fields real ledgers carry (rated load, maintenance, next inspection, 住宅, serial numbers, …):
each goes through the form, the API, the export and the import, with Chinese bounds."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from registry import clock
from registry.assets.fields import fields_for
from registry.assets.models import Asset, AssetChange
from registry.enums import Category, EmissionStandard, NonRoadEmissionStage
from registry.extensions import db
from tests import ledgers
from tests.excel_helpers import snapshot, upload
from tests.factories import make_asset

NEXT = (clock.today() + timedelta(days=200))
# category -> department, {field: (form text, stored value, API JSON value)}; a second set for the API.
CASES = {
    Category.ELEVATOR: ("zjj", {
        "rated_load_kg": ("1000", 1000, 1000), "rated_speed_ms": ("1.75", Decimal("1.75"), 1.75),
        "maintenance_company": ("郑州奥的斯电梯维保有限公司", "郑州奥的斯电梯维保有限公司", "郑州奥的斯电梯维保有限公司"),
        "maintenance_phone": ("0371-62345678", "0371-62345678", "0371-62345678"),
        "next_inspection_on": (NEXT.isoformat(), NEXT, NEXT.isoformat()),
        "serves_housing": ("是", True, True)}),
    Category.OFFICIAL_CAR: ("jgsw", {
        "license_vehicle_type": ("小型普通客车", "小型普通客车", "小型普通客车"),
        "emission_standard": ("guo2", EmissionStandard.GUO2, "guo2"),
        "odometer_km": ("610000", 610000, 610000)}),
    Category.FARM_MACHINE: ("nync", {
        "factory_serial_no": ("DF2011001", "DF2011001", "DF2011001"),
        "emission_stage": ("stage3", NonRoadEmissionStage.STAGE_3, "stage3"),
        "purchase_subsidy": ("否", False, False), "rated_power_kw": ("66.2", Decimal("66.2"), 66.2)}),
    Category.CONSTRUCTION_MACHINE: ("zjj", {
        "factory_serial_no": ("ZL2019-0042", "ZL2019-0042", "ZL2019-0042"),
        "emission_stage": ("stage4", NonRoadEmissionStage.STAGE_4, "stage4")}),
}
API_VALUES = {
    Category.ELEVATOR: {"rated_load_kg": 800, "rated_speed_ms": 2.5, "maintenance_company": "河南三菱电梯服务有限公司",
                        "maintenance_phone": "13812345678", "serves_housing": False},
    Category.OFFICIAL_CAR: {"license_vehicle_type": "小型轿车", "emission_standard": "国一"},
    Category.FARM_MACHINE: {"factory_serial_no": "LW2016007", "emission_stage": "国二", "purchase_subsidy": True},
    Category.CONSTRUCTION_MACHINE: {"factory_serial_no": "XG-7", "emission_stage": "pre1"},
}


def _edit_form(client, asset_id) -> dict:
    html = client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    form = {m.group(1): m.group(2) for m in re.finditer(r'<input id="f-(\w+)" name="\w+" value="([^"]*)"', html)}
    for name, body in re.findall(r'<select id="f-(\w+)" name="\w+">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option (?:value="([^"]*)" )?selected>([^<]*)', body)
        form[name] = (chosen.group(1) if chosen.group(1) is not None else chosen.group(2)) if chosen else ""
    form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form["version"] = re.search(r'name="version" value="(\d+)"', html).group(1)
    return form


def _stored(asset_id, names):
    asset = db.session.get(Asset, asset_id)
    return {n: getattr(asset.detail, n) for n in names}


@pytest.mark.parametrize("category", list(CASES), ids=lambda c: c.value)
def test_new_fields_round_trip_form_api_export_import(app, client, login, category):
    dept, case = CASES[category]
    login("maintainer", dept)
    with app.app_context():
        asset = make_asset(category)
        asset_id, code = asset.id, asset.code
    # Form: every new field is on the edit page and is saved, with history.
    form = _edit_form(client, asset_id)
    assert set(case) <= set(form), set(case) - set(form)
    form.update({name: text for name, (text, _v, _j) in case.items()})
    resp = client.post(f"/assets/{asset_id}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        assert _stored(asset_id, case) == {n: v for n, (_t, v, _j) in case.items()}
        changed = set(db.session.scalars(sa.select(AssetChange.field).where(AssetChange.asset_id == asset_id)))
        assert set(case) <= changed
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    labels = {s.name: s.label for s in fields_for(category) if s.name in case}
    assert all(label in page for label in labels.values())
    # API: the same values come back as JSON; a PATCH (labels accepted for enums) sets others.
    detail = client.get(f"/api/v1/assets/{asset_id}").get_json()["detail"]
    assert {n: detail[n] for n in case} == {n: j for n, (_t, _v, j) in case.items()}
    version = client.get(f"/api/v1/assets/{asset_id}").get_json()["version"]
    resp = client.patch(f"/api/v1/assets/{asset_id}", json={"version": version, "detail": API_VALUES[category]})
    assert resp.status_code == 200, resp.get_json()
    schema = client.get("/api/v1/openapi.json").get_json()
    assert all(n in str(schema) for n in case)
    # Export: one column per field, under its label; the export re-imports unchanged.
    export = client.get(f"/assets/export?category={category.value}")
    data = export.data
    export.close()
    ws = openpyxl.load_workbook(io.BytesIO(data))[category.label]
    header = [c.value for c in ws[1]]
    assert set(labels.values()) <= set(header)
    with app.app_context():
        before = snapshot()
    again = upload(client, data, "导出.xlsx")
    assert "未变 1" in again.get_data(as_text=True), again.get_data(as_text=True)[:2000]
    with app.app_context():
        assert snapshot() == before
    # Import: the template path writes the values the export's cells carry.
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[category.label]
    for name, (text, value, _j) in case.items():
        cell = ws.cell(row=2, column=header.index(labels[name]) + 1)
        cell.value = value.label if hasattr(value, "label") else text
    buf = io.BytesIO()
    wb.save(buf)
    resp = upload(client, buf.getvalue(), "改.xlsx")
    assert "导入成功" in resp.get_data(as_text=True), resp.get_data(as_text=True)[:2000]
    with app.app_context():
        assert _stored(asset_id, case) == {n: v for n, (_t, v, _j) in case.items()}
        assert db.session.get(Asset, asset_id).code == code


@pytest.mark.parametrize("name,text,fragment", [
    ("maintenance_phone", "找王经理", "格式不正确，应为数字"),
    ("rated_speed_ms", "50", "额定速度（m/s）：不能大于 20"),
    ("rated_load_kg", "0", "不能小于 1"),
    ("next_inspection_on", (clock.today() + timedelta(days=366 * 6)).isoformat(), "最多填写今后 5 年内的日期"),
    ("maintenance_company", "维" * 121, "长度不能超过 120 个字符"),
    ("serves_housing", "可能", "应填写“是”或“否”"),
])
def test_new_field_bounds_give_chinese_messages_and_change_nothing(app, client, login, name, text, fragment):
    login("maintainer", "zjj")
    with app.app_context():
        asset_id = make_asset(Category.ELEVATOR).id
        before = snapshot()
    form = _edit_form(client, asset_id)
    form[name] = text
    resp = client.post(f"/assets/{asset_id}/edit", data=form)
    assert resp.status_code == 422 and fragment in resp.get_data(as_text=True)
    version = client.get(f"/api/v1/assets/{asset_id}").get_json()["version"]
    bad = client.patch(f"/api/v1/assets/{asset_id}", json={"version": version, "detail": {name: text}})
    assert bad.status_code == 422 and fragment.split("：")[-1] in bad.get_json()["errors"][name][0]
    with app.app_context():
        assert snapshot() == before


def test_mapped_ledger_fills_the_new_fields_and_matches_machines_by_serial(app, runner, tmp_path):
    path = tmp_path / "电梯台账.xlsx"
    path.write_bytes(ledgers.elevator_ledger())
    out = runner.invoke(args=["registry", "import", str(path), "--accept-suggestions", "--copy", "产权单位=使用单位"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        by_reg = {a.elevator.registration_code: a for a in db.session.scalars(sa.select(Asset))}
        e1 = by_reg["豫AT0001"].elevator
        assert (e1.rated_load_kg, e1.rated_speed_ms, e1.serves_housing) == (1000, Decimal("1.75"), True)
        assert (e1.maintenance_company, e1.maintenance_phone) == ("郑州奥的斯电梯维保有限公司", "0371-62345678")
        assert e1.next_inspection_on is not None and e1.next_inspection_on > clock.today()
        assert by_reg["豫AT0003"].elevator.serves_housing is False
    farm = tmp_path / "农机.csv"
    farm.write_bytes(ledgers.farm_csv())
    out = runner.invoke(args=["registry", "import", str(farm), "--accept-suggestions"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        machines = {a.farm_machine.factory_serial_no: a for a in db.session.scalars(
            sa.select(Asset).where(Asset.category == Category.FARM_MACHINE))}
        assert set(machines) == {"DF2011001", "LW2016007", "DF2013044"}
        assert machines["DF2011001"].farm_machine.purchase_subsidy is True
        assert machines["DF2013044"].farm_machine.purchase_subsidy is False
        assert not (machines["DF2011001"].extra or {}).get("出厂编号")  # a field now, not an extra attribute


def test_demo_data_carries_the_new_fields_deterministically(app, runner):
    from registry.assets.models import ElevatorDetail, FarmMachineDetail, OfficialCarDetail
    out = runner.invoke(args=["registry", "seed-demo", "--count", "300"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        elevators = db.session.scalars(sa.select(ElevatorDetail).order_by(ElevatorDetail.asset_id)).all()
        assert elevators and all(e.maintenance_company and e.next_inspection_on for e in elevators)
        assert True in {e.serves_housing for e in elevators}
        assert all(e.rated_load_kg is None or e.rated_load_kg > 0 for e in elevators)
        assert all(c.license_vehicle_type for c in db.session.scalars(sa.select(OfficialCarDetail)))
        farms = db.session.scalars(sa.select(FarmMachineDetail)).all()
        assert farms and all(f.factory_serial_no and f.emission_stage for f in farms)
    from registry.demo.inventory import build_rows
    from registry.enums import UnitKind
    units = {k: [(1, "新建路街道"), (2, "龙湖镇")] for k in UnitKind}

    def ledger_fields():
        return [(d.get("rated_load_kg"), d.get("maintenance_phone"), d.get("factory_serial_no"), d.get("serves_housing"))
                for _c, _b, d in build_rows(300, units, {c: 1 for c in Category})]
    assert ledger_fields() == ledger_fields()
