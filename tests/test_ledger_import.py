"""Real ledgers (merged headers, .xls, GBK CSV, hidden columns) imported through a column/value mapping."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from registry.assets.models import Asset, AssetChange
from registry.enums import Category, ElevatorType, EnergyType, FarmMachineType, VehicleType
from registry.extensions import db
from registry.transfer.models import ImportProfile
from tests import ledgers
from tests.excel_helpers import snapshot


def _assets():
    return {a.code: a for a in db.session.scalars(sa.select(Asset).order_by(Asset.id))}


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_elevator_ledger_preview_shows_header_mapping_values_and_skipped_rows(app, runner, tmp_path):
    path = _write(tmp_path, "电梯台账.xlsx", ledgers.elevator_ledger())
    out = runner.invoke(args=["registry", "import", path, "--preview", "--set", "产权单位=新郑市住房和城乡建设局"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "工作表：2024年电梯台账；表头在第 3、4 行；类别：电梯" in text
    assert "B 列「基本信息 / 设备代码」→ 设备编码" in text
    assert "E 列「基本信息 / 层站数」→ 层数 和 站数" in text
    assert "F 列「基本信息 / 额定载重量(kg)」→ 额定载重量（kg）" in text
    assert "Q 列「安全管理员」→ 附加属性" in text
    assert "A 列「序号」→ 不导入" in text and "K 列「内部编号」→ 不导入" in text and "（隐藏列）" in text
    assert "电梯类型「曳引式乘客电梯」×2 → 曳引  置信度 0.90" in text
    assert "第9行 合计行" in text and "第10行 注释行" in text and "第11行 表尾" in text
    assert "将新建 4，修改 0，未变 0" in text and "预览完成，未写入任何数据" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_elevator_ledger_without_decision_is_refused_naming_what_is_left(app, runner, tmp_path):
    path = _write(tmp_path, "电梯台账.xlsx", ledgers.elevator_ledger())
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions"])
    assert out.exit_code == 1
    assert "必填字段「产权单位」没有对应的列" in out.output and "--set 产权单位=值" in out.output
    out = runner.invoke(args=["registry", "import", path])
    assert out.exit_code == 1 and "列映射需要确认" in out.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_elevator_ledger_imports_with_suggestions_then_reimports_unchanged_via_profile(app, runner, tmp_path):
    path = _write(tmp_path, "电梯台账.xlsx", ledgers.elevator_ledger())
    args = ["registry", "import", path, "--accept-suggestions", "--copy", "产权单位=使用单位",
            "--save-profile", "住建局电梯台账"]
    out = runner.invoke(args=args)
    assert out.exit_code == 0, out.output
    assert "导入完成：电梯 4 行，新建 4" in out.output and "已保存映射方案" in out.output
    assert "「2015年6月」不是完整日期，按 2015-06-01 计" in out.output
    with app.app_context():
        assets = list(_assets().values())
        by_reg = {a.elevator.registration_code: a for a in assets}
        a1 = by_reg["豫AT0001"]
        assert a1.code == "31104101002015060001" and a1.elevator.elevator_type is ElevatorType.TRACTION
        assert (a1.elevator.floors, a1.elevator.stops) == (24, 24)
        assert a1.elevator.rated_load_kg == 1000 and a1.owner_unit.name == "锦绣物业公司"
        assert a1.extra == {"安全管理员": "张工"}
        assert a1.commissioned_on == date(2015, 6, 1) and by_reg["豫AT0002"].commissioned_on == date(2015, 6, 1)
        assert by_reg["豫AT0003"].commissioned_on == date(2012, 4, 1)  # Excel serial 41000
        assert by_reg["豫AT0004"].elevator.elevator_type is ElevatorType.HYDRAULIC
        assert by_reg["豫AT0003"].name == "自动扶梯"
        profile = db.session.scalar(sa.select(ImportProfile))
        assert profile.name == "住建局电梯台账" and profile.mapping["copy"] == {"owner_unit": "使用单位"}
        before = snapshot()
    # The same layout again: the stored profile applies by itself; nothing changes.
    out = runner.invoke(args=["registry", "import", path])
    assert out.exit_code == 0, out.output
    assert "新建 0，更新 0（0 项修改），未变 4" in out.output
    with app.app_context():
        assert snapshot() == before


@pytest.mark.parametrize("in_list", [True, False], ids=["IN list", "one pass over the category"])
def test_car_xls_with_set_township_matches_plates_on_reimport(app, runner, tmp_path, monkeypatch, in_list):
    if not in_list:  # more plates than one IN list holds: the category is read once, unfiltered
        monkeypatch.setattr("registry.transfer.ledger.IN_LIST_CHUNK", 1)
    path = _write(tmp_path, "公务车辆.xls", ledgers.car_xls())
    base = ["registry", "import", path, "--accept-suggestions", "--set", "乡镇/街道=新建路街道",
            "--copy", "产权单位=使用单位"]
    out = runner.invoke(args=base)
    assert out.exit_code == 0, out.output
    with app.app_context():
        cars = {a.official_car.plate_number: a for a in _assets().values()}
        car = cars["豫A12345"]
        assert car.code.startswith("XZ-GC-") and car.name == "轿车 帕萨特"
        assert car.official_car.vehicle_type is VehicleType.SEDAN and car.official_car.energy_type is EnergyType.FUEL
        assert car.official_car.odometer_km == 182000 and cars["豫A34567"].official_car.odometer_km == 60000
        assert car.registered_on == date(2012, 5, 3) and cars["豫A23456"].registered_on == date(2014, 8, 1)
        codes = {a.code for a in cars.values()}
    changed = list(ledgers.CAR_ROWS)
    changed[0] = changed[0][:7] + ("190,000公里",) + changed[0][8:]
    _write(tmp_path, "公务车辆.xls", ledgers.car_xls(changed))
    out = runner.invoke(args=base + ["--preview"])
    assert "将新建 0，修改 1，未变 2" in out.output and "修改：行驶里程（km）" in out.output, out.output
    out = runner.invoke(args=base)
    assert out.exit_code == 0 and "新建 0，更新 1（1 项修改），未变 2" in out.output, out.output
    with app.app_context():
        assert {a.code for a in _assets().values()} == codes
        change = db.session.scalar(sa.select(AssetChange).where(AssetChange.field == "odometer_km"))
        assert (change.before, change.after) == ("182000", "190000")


def test_gbk_farm_csv_from_wps_with_year_only_policy(app, runner, tmp_path):
    path = _write(tmp_path, "农机.csv", ledgers.farm_csv())
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions", "--partial-dates", "refuse"])
    assert out.exit_code == 1
    assert "第3行 [H 列（购置日期）] 「2011年」只有年份或年月" in out.output
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions", "--partial-dates", "mid"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        machines = list(_assets().values())
        by_serial = {a.farm_machine.factory_serial_no: a for a in machines}
        tractor = by_serial["DF2011001"]
        assert tractor.farm_machine.machine_type is FarmMachineType.TRACTOR_MEDIUM
        assert tractor.commissioned_on == date(2011, 7, 1) and tractor.owner_unit.name == "张三"
        assert by_serial["LW2016007"].farm_machine.machine_type is FarmMachineType.COMBINE_HARVESTER
        assert by_serial["LW2016007"].commissioned_on == date(2016, 5, 15)
        assert tractor.farm_machine.purchase_subsidy is True and tractor.extra is None
        before = snapshot()
    # Re-import: serial + model find the same machines although the file has no code.
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions", "--partial-dates", "mid"])
    assert out.exit_code == 0 and "新建 0" in out.output and "未变 3" in out.output, out.output
    with app.app_context():
        assert snapshot() == before


def test_a_serial_number_stored_as_a_number_finds_its_machine_again(app, runner, tmp_path):
    # Excel keeps an all-digit 出厂编号 as the number 2011001 (read back as 2011001.0); the asset stores
    # the text 「2011001」. The natural key must compare the two as the same serial.
    rows = [(*r[:5], r[5][2:], *r[6:]) for r in ledgers.FARM_ROWS]  # DF2011001 -> 2011001
    path = _write(tmp_path, "农机.xlsx", ledgers.farm_xlsx(rows))
    args = ["registry", "import", path, "--accept-suggestions", "--partial-dates", "mid"]
    out = runner.invoke(args=args)
    assert out.exit_code == 0 and "新建 3" in out.output, out.output
    with app.app_context():
        assert {a.farm_machine.factory_serial_no for a in _assets().values()} == {"2011001", "2016007", "2013044"}
        before = snapshot()
    out = runner.invoke(args=args)
    assert out.exit_code == 0 and "新建 0" in out.output and "未变 3" in out.output, out.output
    with app.app_context():
        assert snapshot() == before


def test_natural_key_repeated_inside_file_is_refused(app, runner, tmp_path):
    rows = list(ledgers.FARM_ROWS) + [("4", "赵六", "辛店镇", "拖拉机", "东方红-LX904", "DF2011001", "66.2",
                                        "2012-01-01", "否")]
    path = _write(tmp_path, "农机.csv", ledgers.farm_csv(rows))
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions"])
    assert out.exit_code == 1 and "「DF2011001 东方红-LX904」与第 3 行重复" in out.output, out.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_several_data_sheets_need_a_choice(app, runner, tmp_path):
    path = _write(tmp_path, "车辆.xls", ledgers.car_xls(extra_sheet=True))
    out = runner.invoke(args=["registry", "import", path, "--preview"])
    assert out.exit_code == 1 and "多个工作表" in out.output and "「Sheet1」：3 行" in out.output, out.output
    out = runner.invoke(args=["registry", "import", path, "--preview", "--sheet", "Sheet1"])
    assert out.exit_code == 0 and "工作表：Sheet1" in out.output, out.output


def test_mapping_file_two_columns_one_field_and_other_department(app, runner, tmp_path):
    path = _write(tmp_path, "农机.csv", ledgers.farm_csv())
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"category": "farm_machine", "columns": {"机主": "owner_unit", "序号": "owner_unit"}}))
    out = runner.invoke(args=["registry", "import", path, "--mapping", str(bad)])
    assert out.exit_code == 1 and "A 列和 B 列都映射到「产权单位」" in out.output, out.output
    other = tmp_path / "o.json"
    other.write_text(json.dumps({"category": "farm_machine", "department": "zjj", "columns": {}}))
    out = runner.invoke(args=["registry", "import", path, "--mapping", str(other), "--department", "nync"])
    assert out.exit_code == 1 and "属于其他部门" in out.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_of_a_ledger(app, runner, tmp_path, encoding):
    path = _write(tmp_path, "农机.csv", ledgers.farm_csv(encoding=encoding))
    out = runner.invoke(args=["registry", "import", path, "--preview"])
    assert out.exit_code == 0 and "类别：农业机械" in out.output and "拖拉机" in out.output, out.output


def test_ods_and_bad_input(app, runner, tmp_path):
    data = ledgers.ods([["设备编号", "农机类型", "机主", "所在乡镇"], ["N1", "拖拉机", "张三", "辛店镇"]])
    out = runner.invoke(args=["registry", "import", _write(tmp_path, "a.ods", data), "--accept-suggestions"])
    assert out.exit_code == 0 and "新建 1" in out.output, out.output
    out = runner.invoke(args=["registry", "import", _write(tmp_path, "x.xls", b"\x89PNG\r\n\x1a\n" + b"0" * 50)])
    assert out.exit_code == 1 and "不是" in out.output
    enc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le")
    out = runner.invoke(args=["registry", "import", _write(tmp_path, "e.xlsx", enc)])
    assert out.exit_code == 1 and "已加密" in out.output
    out = runner.invoke(args=["registry", "import", _write(tmp_path, "n.csv", "甲,乙\n1,2\n".encode()), "--preview"])
    assert out.exit_code == 1 and "缺少表头" in out.output


# --- web flow --------------------------------------------------------------------------------
def _token(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"].split("/import/")[1].split("/")[0]


def test_web_flow_upload_mapping_preview_confirm_and_profile(app, client, login):
    from tests.excel_helpers import upload
    login("maintainer", "zjj")
    token = _token(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    page = client.get(f"/assets/import/{token}/mapping")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "表头在第 3、4 行" in text and "基本信息 / 设备代码" in text and "曳引式乘客电梯" in text
    assert "必填字段「产权单位」没有对应的列" in text and "第 9 行（合计行）" in text
    form = {"sheet": "2024年电梯台账", "category": "elevator", "set-owner_unit": "新郑市住房和城乡建设局",
            "partial_dates": "first", "profile_name": "电梯台账方案"}
    preview = client.post(f"/assets/import/{token}/preview", data=form)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200, text[:3000]
    assert "新建 4，修改 0，未变 0" in text and "尚未写入任何数据" in text and "2015-06-01" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0
    mapping_json = text.split('name="mapping_json" value="')[1].split('"')[0]
    import html
    done = client.post(f"/assets/import/{token}/confirm", data={
        "sheet": "2024年电梯台账", "category": "elevator", "mapping_json": html.unescape(mapping_json),
        "profile_name": "电梯台账方案"})
    assert done.status_code == 200 and "导入成功" in done.get_data(as_text=True), done.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 4
        assert db.session.scalar(sa.select(ImportProfile.name)) == "电梯台账方案"
    # Uploading the same layout again: the page comes with the department's profile applied.
    token = _token(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    text = client.get(f"/assets/import/{token}/mapping").get_data(as_text=True)
    assert "已套用映射方案「电梯台账方案」" in text and "尚未确定" not in text


def test_web_preview_names_error_cells_as_in_excel_and_offers_marked_copy(app, client, login):
    from tests.excel_helpers import upload
    import io
    import openpyxl
    login("maintainer", "zjj")
    rows = list(ledgers.FARM_ROWS)
    rows[1] = rows[1][:7] + ("2099年5月",) + rows[1][8:]
    token = _token(upload(client, ledgers.farm_csv(rows), "农机.csv"))
    login("maintainer", "nync")
    assert client.get(f"/assets/import/{token}/mapping").status_code == 404  # another user's upload
    token = _token(upload(client, ledgers.farm_csv(rows), "农机.csv"))
    with app.app_context():
        before = snapshot()
    resp = client.post(f"/assets/import/{token}/preview", data={"partial_dates": "first"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422, text[:2000]
    assert "第 4 行 H 列（购置日期）：「2099-05-01」晚于今天" in text
    link = text.split('href="/assets/import/report/')[1].split('"')[0]
    report = client.get("/assets/import/report/" + link)
    wb = openpyxl.load_workbook(io.BytesIO(report.data))
    report.close()
    cell = wb.worksheets[0]["H4"]
    assert cell.value == "2099年5月" and "晚于今天" in cell.comment.text
    with app.app_context():
        assert snapshot() == before


def test_web_several_sheets_then_pick_one(app, client, login):
    from tests.excel_helpers import upload
    login("maintainer", "jgsw")
    token = _token(upload(client, ledgers.car_xls(extra_sheet=True), "车辆.xls"))
    text = client.get(f"/assets/import/{token}/mapping").get_data(as_text=True)
    assert "多个工作表" in text and "Sheet1</a>（3 行数据）" in text
    text = client.get(f"/assets/import/{token}/mapping?sheet=Sheet1").get_data(as_text=True)
    assert "车牌号" in text and "小型轿车" in text


def test_template_with_extra_column_round_trips_through_export(app, client, login):
    from tests.corpus.make_corpus import ELEVATOR_HEADERS, good_row, workbook
    from tests.excel_helpers import upload
    login("maintainer", "zjj")
    rows = [dict(good_row(1), 安全管理员="郑州电梯维保公司"), dict(good_row(2), 安全管理员="")]
    resp = upload(client, workbook(rows, headers=ELEVATOR_HEADERS + ["安全管理员"]), "电梯.xlsx")
    assert resp.status_code == 200 and "导入成功" in resp.get_data(as_text=True), resp.get_data(as_text=True)[:2000]
    with app.app_context():
        a = _assets()["C-DT-00001"]
        assert a.extra == {"安全管理员": "郑州电梯维保公司"}
        asset_id = a.id
    assert "郑州电梯维保公司" in client.get(f"/assets/{asset_id}").get_data(as_text=True)
    export = client.get("/assets/export?category=elevator")
    data = export.data
    export.close()
    import io
    import openpyxl
    ws = openpyxl.load_workbook(io.BytesIO(data))["电梯"]
    header = [c.value for c in ws[1]]
    assert header[-1] == "安全管理员" and ws.cell(row=2, column=len(header)).value == "郑州电梯维保公司"
    with app.app_context():
        before = snapshot()
    again = upload(client, data, "电梯台账-导出.xlsx")
    assert "更新 0 台" in again.get_data(as_text=True) and "未变 2 台" in again.get_data(as_text=True)
    with app.app_context():
        assert snapshot() == before


def test_hidden_rows_are_skipped_unless_kept(app, runner, tmp_path):
    import io
    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(ledgers.elevator_ledger()))
    wb.active.row_dimensions[6].hidden = True  # the second elevator
    buf = io.BytesIO()
    wb.save(buf)
    path = _write(tmp_path, "电梯台账.xlsx", buf.getvalue())
    args = ["registry", "import", path, "--preview", "--copy", "产权单位=使用单位"]
    out = runner.invoke(args=args)
    assert "第6行 隐藏行" in out.output and "数据行 3" in out.output, out.output
    out = runner.invoke(args=args + ["--keep-hidden"])
    assert "数据行 4" in out.output and "K 列「内部编号」→ 附加属性" in out.output, out.output


def test_number_text_is_bounded_before_conversion(app, runner, tmp_path):
    rows = list(ledgers.FARM_ROWS)
    rows[0] = rows[0][:6] + ("9" * 5000,) + rows[0][7:]
    path = _write(tmp_path, "农机.csv", ledgers.farm_csv(rows))
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions"])
    assert out.exit_code == 1 and "第3行 [G 列（发动机功率（千瓦））]" in out.output and "过长" in out.output, out.output


def test_cli_ledger_import_shows_progress_and_profiles_travel_as_json(app, runner, tmp_path):
    """The ledger path draws progress bars; a saved profile exports to JSON and imports elsewhere by CLI."""
    path = _write(tmp_path, "电梯台账.xlsx", ledgers.elevator_ledger())
    out = runner.invoke(args=["registry", "import", path, "--accept-suggestions", "--copy", "产权单位=使用单位",
                              "--save-profile", "住建局电梯台账"])
    assert out.exit_code == 0, out.output
    assert "校验" in out.output and "写入" in out.output  # the progress bars' labels
    listing = runner.invoke(args=["registry", "profiles", "list", "--department", "zjj"])
    assert listing.exit_code == 0 and "住建局电梯台账" in listing.output, listing.output
    profile_id = listing.output.split()[0]
    exported = tmp_path / "方案.json"
    out = runner.invoke(args=["registry", "profiles", "export", profile_id, "--department", "zjj", "-o", str(exported)])
    assert out.exit_code == 0, out.output
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["name"] == "住建局电梯台账" and data["department"] == "zjj" and data["category"] == "elevator"
    # Another department may not take it; the same department gets it back under a new name.
    out = runner.invoke(args=["registry", "profiles", "import", str(exported), "--department", "jgsw"])
    assert out.exit_code == 1 and "属于其他部门" in out.output
    data["name"] = "电梯台账（副本）"
    exported.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = runner.invoke(args=["registry", "profiles", "import", str(exported), "--department", "zjj"])
    assert out.exit_code == 0 and "已保存映射方案「电梯台账（副本）」" in out.output, out.output
    bad = tmp_path / "坏.json"
    bad.write_text('{"name": "x", "category": "elevator", "header": ["设备代码"], "columns": 5}', encoding="utf-8")
    out = runner.invoke(args=["registry", "profiles", "import", str(bad), "--department", "zjj"])
    assert out.exit_code == 1 and "映射方案有误" in out.output, out.output
    with app.app_context():
        names = set(db.session.scalars(sa.select(ImportProfile.name)))
        assert names == {"住建局电梯台账", "电梯台账（副本）"}
    out = runner.invoke(args=["registry", "profiles", "export", "99999", "--department", "zjj"])
    assert out.exit_code == 1 and "没有编号为 99999" in out.output
