"""Excel/CSV import: templates, all-or-nothing writes, history, error report, scoping, CLI."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from registry.assets.fields import fields_for
from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.extensions import db
from registry.orgs.models import Unit
from tests import factories
from tests.corpus.make_corpus import ELEVATOR_HEADERS, csv_bytes, good_row, workbook
from tests.excel_helpers import snapshot, upload


def _assets():
    return {a.code: a for a in db.session.scalars(sa.select(Asset))}


@pytest.mark.parametrize("category", list(Category))
def test_template_has_chinese_headers_dropdowns_and_instructions(client, login, category):
    login("inspector", "zjj")
    resp = client.get(f"/assets/templates/{category.value}.xlsx")
    assert resp.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == [category.label, "说明"]
    ws = wb[category.label]
    specs = fields_for(category)
    assert [c.value for c in ws[1]] == [s.label for s in specs]
    validated = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            validated[rng.min_col - 1] = dv.formula1
    for i, spec in enumerate(specs):
        if spec.kind == "enum":
            assert all(label in validated[i] for label in spec.enum.labels()), spec.label
        if spec.kind == "bool":
            assert validated[i] == '"是,否"'
    notes = wb["说明"]
    text = "\n".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)
    for spec in specs:
        assert spec.label in text
    assert "必填" in text and "2015年6月1日" in text


def test_import_creates_assets_units_history_and_one_audit_record(app, client, login):
    user_id = login("maintainer", "zjj")
    data = workbook([good_row(1), good_row(2, 产权单位="新单位甲", 使用单位="新单位乙", 电梯类型="自动扶梯")])
    resp = upload(client, data, "电梯.xlsx")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "导入成功" in resp.get_data(as_text=True)
    with app.app_context():
        assets = _assets()
        assert set(assets) == {"C-DT-00001", "C-DT-00002"}
        a = assets["C-DT-00002"]
        assert a.department.code == "zjj" and a.status is LifecycleStatus.IN_USE
        assert a.owner_unit.name == "新单位甲" and a.user_unit.name == "新单位乙"
        assert a.elevator.elevator_type.label == "自动扶梯" and a.elevator.floors == 18
        assert a.commissioned_on == date(2010, 5, 1) and a.condition_grade is ConditionGrade.FAIR
        units = db.session.scalars(sa.select(Unit.name)).all()
        assert sorted(units) == ["新单位乙", "新单位甲", "锦绣小区业主委员会"]
        changes = db.session.scalars(sa.select(AssetChange)).all()
        assert {(c.action, c.field, c.user_id) for c in changes} == {("import", "record", user_id)}
        audits = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "asset.import")).all()
        assert len(audits) == 1 and '"created": 2' in audits[0].details and "电梯.xlsx" in audits[0].details


def test_import_updates_existing_code_and_records_each_changed_field(app, client, login):
    user_id = login("maintainer", "zjj")
    with app.app_context():
        asset = factories.make_asset(Category.ELEVATOR, code="C-DT-00001", status=LifecycleStatus.IN_USE,
                                     detail={"floors": 10}, notes="原备注", name="乘客电梯")
        version = asset.version
    data = workbook([good_row(1, 使用状态="停用", 层数=12)],
                    headers=["设备编码", "设备名称", "产权单位", "乡镇/街道", "电梯类型", "使用状态", "层数"])
    resp = upload(client, data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "更新 1 台" in resp.get_data(as_text=True)
    with app.app_context():
        a = _assets()["C-DT-00001"]
        assert a.status is LifecycleStatus.IDLE and a.elevator.floors == 12
        assert a.version == version + 1
        assert a.notes == "原备注"  # the 备注 column was absent: kept
        changes = {c.field: c for c in db.session.scalars(sa.select(AssetChange))}
        assert changes["status"].before == "在用" and changes["status"].after == "停用"
        assert changes["floors"].before == "10" and changes["floors"].after == "12"
        assert changes["owner_unit"].after == "锦绣小区业主委员会"
        assert all(c.action == "import" and c.user_id == user_id for c in changes.values())


def test_row_errors_are_all_listed_nothing_written_and_report_marks_cells(app, client, login):
    login("maintainer", "zjj")
    with app.app_context():
        factories.make_asset(Category.ELEVATOR)
        before = snapshot()
    rows = [good_row(1), good_row(2, 电梯类型="磁悬浮", 层数="很多"), good_row(3), good_row(4, 投入使用日期="2099-01-01")]
    resp = upload(client, workbook(rows), "有错.xlsx")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for fragment in ("<td class=\"num\">3</td><td>电梯类型</td>", "「磁悬浮」不是有效选项",
                     "<td class=\"num\">3</td><td>层数</td>", "<td class=\"num\">5</td><td>投入使用日期</td>",
                     "不能填写未来日期", "未写入任何数据"):
        assert fragment in text
    with app.app_context():
        assert snapshot() == before
    link = text.split('href="/assets/import/report/')[1].split('"')[0]
    report = client.get("/assets/import/report/" + link)
    assert report.status_code == 200
    data = report.data
    report.close()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["电梯"]
    col = ELEVATOR_HEADERS.index("电梯类型") + 1
    cell = ws.cell(row=3, column=col)
    assert cell.value == "磁悬浮" and cell.fill.fgColor.rgb.endswith("FFC7CE") and "不是有效选项" in cell.comment.text
    assert ws.cell(row=2, column=col).comment is None
    listing = [[c.value for c in r] for r in wb["错误清单"].iter_rows(min_row=2)]
    assert [3, "电梯类型"] == listing[0][:2] and len(listing) == 3


def test_error_report_belongs_to_its_uploader(app, client, login):
    login("maintainer", "zjj")
    text = upload(client, workbook([good_row(1, 电梯类型="x")])).get_data(as_text=True)
    token = text.split('href="/assets/import/report/')[1].split('"')[0]
    client.post("/logout")
    login("maintainer", "zjj")
    assert client.get("/assets/import/report/" + token).status_code == 404


def test_date_forms_people_type(app, client, login):
    login("maintainer", "zjj")
    forms = [(date(2015, 6, 1), date(2015, 6, 1)), (42156, date(2015, 6, 1)), ("2015-06-01", date(2015, 6, 1)),
             ("2015/6/1", date(2015, 6, 1)), ("2015.6.1", date(2015, 6, 1)), ("2015年6月1日", date(2015, 6, 1)),
             ("2015年6月", date(2015, 6, 1))]
    rows = [good_row(i, 投入使用日期=raw) for i, (raw, _) in enumerate(forms, 1)]
    resp = upload(client, workbook(rows))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200, text
    assert "只有年月，按 2015-06-01（当月1日）计" in text
    with app.app_context():
        assets = _assets()
        for i, (_, expected) in enumerate(forms, 1):
            assert assets[f"C-DT-{i:05d}"].commissioned_on == expected


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_and_category_detection(app, client, login, encoding):
    login("maintainer", "zjj")
    resp = upload(client, csv_bytes([good_row(1, 产权单位="郑州市某某物业"), good_row(2)], encoding), "电梯.csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():
        assert _assets()["C-DT-00001"].owner_unit.name == "郑州市某某物业"


def test_unique_registration_code_conflict_with_database(app, client, login):
    login("maintainer", "zjj")
    with app.app_context():
        factories.make_asset(Category.ELEVATOR, detail={"registration_code": "R-EXIST"})
        before = snapshot()
    resp = upload(client, workbook([good_row(1, 注册代码="R-EXIST")]))
    assert resp.status_code == 422 and "「R-EXIST」已被其他设备使用" in resp.get_data(as_text=True)
    with app.app_context():
        assert snapshot() == before


def test_code_of_another_category_or_deleted_asset_is_refused(app, client, login):
    login("maintainer", "zjj")
    with app.app_context():
        factories.make_asset(Category.PIPE, code="C-DT-00001")
        from registry.db_types import utcnow
        factories.make_asset(Category.ELEVATOR, code="C-DT-00002", deleted_at=utcnow(), deletion_reason="测试")
    text = upload(client, workbook([good_row(1), good_row(2)])).get_data(as_text=True)
    assert "已被市政管道设施设备使用" in text and "已删除，不能通过导入恢复" in text


def test_scoping_other_department_and_roles(app, client, login):
    login("maintainer", "jgsw")
    resp = upload(client, workbook([good_row(1)]))
    assert resp.status_code == 403 and "无权导入「电梯」" in resp.get_data(as_text=True)
    client.post("/logout")
    login("inspector", "zjj")
    assert upload(client, workbook([good_row(1)])).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_upload_over_size_limit_is_refused(app, client, login):
    login("maintainer", "zjj")
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    resp = upload(client, csv_bytes([good_row(i) for i in range(1, 1000)]), "big.csv")
    assert resp.status_code == 413 and "大小上限" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_header_below_a_title_row_is_found(app, client, login):
    login("maintainer", "zjj")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "电梯"
    ws.append(["新郑市电梯台账（2026年）"])
    ws.merge_cells("A1:F1")  # a merged title above the header is fine; only data cells must not be merged
    ws.append(ELEVATOR_HEADERS)
    ws.append([good_row(7).get(h) for h in ELEVATOR_HEADERS])
    buf = io.BytesIO()
    wb.save(buf)
    resp = upload(client, buf.getvalue())
    assert resp.status_code == 200, resp.get_data(as_text=True)
    bad = workbook([good_row(8, 层数="x")])
    assert "<td class=\"num\">2</td>" in upload(client, bad).get_data(as_text=True)


def test_cli_import_reports_errors_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook([good_row(1), good_row(2, 电梯类型="磁悬浮")]))
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "第3行 [电梯类型]" in result.output and "未写入任何数据" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0


def test_cli_import_with_progress(app, runner, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([good_row(i) for i in range(1, 30)], "gbk"))
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "导入完成：电梯 29 行，新建 29" in result.output and "校验" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 29


def test_data_starting_in_column_b_keeps_excel_row_and_column_numbers(app, client, login):
    login("maintainer", "zjj")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "电梯"
    for c, label in enumerate(ELEVATOR_HEADERS, start=2):
        ws.cell(row=3, column=c, value=label)
    row = good_row(1, 层数="高")
    for c, label in enumerate(ELEVATOR_HEADERS, start=2):
        ws.cell(row=4, column=c, value=row.get(label))
    buf = io.BytesIO()
    wb.save(buf)
    text = upload(client, buf.getvalue()).get_data(as_text=True)
    assert '<td class="num">4</td><td>层数</td><td>「高」不是数字</td>' in text


def test_concurrent_duplicate_write_is_a_conflict_not_a_crash(app, client, login, monkeypatch):
    login("maintainer", "zjj")
    from registry.transfer import import_writer
    real = import_writer._write

    def racing(result, plan, *args):
        factories.make_asset(Category.ELEVATOR, code="C-DT-00001")  # someone else, just before our write
        return real(result, plan, *args)
    monkeypatch.setattr(import_writer, "_write", racing)
    resp = upload(client, workbook([good_row(1)]))
    assert resp.status_code == 409 and "未写入任何数据" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AssetChange.id))) == 0


def test_imported_rows_are_searchable_like_any_other_write(app, client, login):
    """A first import indexes its new rows for the keyword search once at the end; later writes row by row."""
    from registry.assets import search
    login("maintainer", "zjj")
    with app.app_context():
        before = factories.make_asset(Category.ELEVATOR, name="既有子丑电梯")
        db.session.commit()
        before_id = before.id
    data = workbook([good_row(1, 设备名称="寅卯电梯", 地址="辰巳路1号", 所在小区="午未花园"),
                     good_row(2, 设备名称="寅卯扶梯", 产权单位="申酉公司")])
    assert upload(client, data, "电梯.xlsx").status_code == 200
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Asset.code, Asset.id).where(Asset.code.like("C-DT-%"))).all())
        for q in ("寅卯", "辰巳", "午未", "申酉", "子丑", "电梯", "梯"):
            got = db.session.scalars(sa.select(Asset.id).where(search.text_condition(q)).order_by(Asset.id)).all()
            want = db.session.scalars(sa.select(Asset.id).where(search.like_condition(q)).order_by(Asset.id)).all()
            assert got == want, q
        assert db.session.scalars(sa.select(Asset.id).where(search.text_condition("寅卯")).order_by(Asset.id)).all() \
            == sorted(ids.values())
        assert before_id in db.session.scalars(sa.select(Asset.id).where(search.text_condition("子丑"))).all()
        if db.engine.dialect.name == "sqlite":  # the insert triggers are back for the next write
            names = set(db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            assert {"asset_search_insert", "elevator_search_insert"} <= names


@pytest.mark.parametrize("change, changed", [
    ({}, False),
    ({"使用状态": None}, False),  # an empty cell of a not-null column keeps the stored value
    ({"备注": None}, False),
    ({"层数": 19}, True),
    ({"使用状态": "停用"}, True),
    ({"产权单位": "新建的单位"}, True),  # a unit to create is always a change
    ({"使用单位": "锦绣小区业主委员会"}, True),
    ({"投入使用日期": date(2010, 5, 2)}, True),
    ({"状况等级": None}, True),
])
def test_reimport_tells_unchanged_rows_like_the_field_diff(app, change, changed):
    """The fast unchanged test of a re-import agrees with the field-by-field diff (which writes the history)."""
    from registry.transfer.importer import run_import
    with app.app_context():
        first = run_import(workbook([good_row(1), good_row(2)]), "电梯.xlsx")
        assert first.ok and first.created == 2
        again = run_import(workbook([good_row(1, **change), good_row(2)]), "电梯.xlsx")
        assert again.ok, again.errors
        assert (again.updated, again.unchanged) == ((1, 1) if changed else (0, 2))
        assert again.row_status[2][0] == ("changed" if changed else "unchanged")
        history = db.session.scalars(sa.select(AssetChange.field).where(AssetChange.field != "record")).all()
        assert bool(history) is changed


def _problems(result):
    return ([(p.row, p.column, p.message) for p in result.errors], [(p.row, p.column, p.message) for p in result.warnings])


def test_rows_parsed_a_column_at_a_time_report_their_problems_in_sheet_order(app, monkeypatch):
    """Chunks of 2 rows and of 5,000 give the same values, errors and warnings, row by row, left to right."""
    from registry.transfer import importer
    rows = [good_row(1, 层数="很多", 电梯类型="磁悬浮"), good_row(2, 投入使用日期="2015年6月"),
            good_row(1, **{"乡镇/街道": "火星"}), good_row(4, 层数=True, 投入使用日期="2015年6月", 状况等级="极好"),
            good_row(5, 层数=1.0), good_row(6, 层数="7"), good_row(7, 电梯类型="磁悬浮", 层数="很多"),
            good_row(8, 设备名称="  乘客电梯  ")]
    data = workbook(rows)
    with app.app_context():
        whole = importer.run_import(data, "电梯.xlsx", dry_run=True)
        monkeypatch.setattr(importer, "PARSE_CHUNK", 2)
        monkeypatch.setattr(importer, "MEMO_MISS_SHARE", 0.0)  # every column gives up its memory after a chunk
        chunked = importer.run_import(data, "电梯.xlsx", dry_run=True)
    assert _problems(chunked) == _problems(whole)
    errors, warnings = _problems(whole)
    assert [e[0] for e in errors] == sorted(e[0] for e in errors)  # rows in order
    assert [(r, c) for r, c, _ in errors if r in (2, 8)] == [(2, "电梯类型"), (2, "层数"), (8, "电梯类型"), (8, "层数")]
    assert sum("很多" in m for _, _, m in errors) == 2 and sum("磁悬浮" in m for _, _, m in errors) == 2
    # After a row's fields, its own checks in their order: the second C-DT-00001, then the township.
    assert [(c, "重复" in m) for r, c, m in errors if r == 4] == [("设备编码", True), ("乡镇/街道", False)]
    assert [r for r, _, m in warnings if "当月1日" in m] == [3, 5]  # a remembered warning, for each of its rows
    # A number cell 1.0 is a count of 1; the text "7" too; a TRUE cell is refused: none is mixed with another.
    assert any(r == 5 and c == "层数" for r, c, _ in errors)
    assert not any(r in (6, 7) and c == "层数" for r, c, _ in errors)


def test_a_column_parser_remembers_cells_by_class_and_value_while_they_repeat():
    from registry.assets.fields import FieldError
    from registry.transfer.importer import PARSE_CHUNK, _ColumnParser
    calls = []

    def parse(raw):
        calls.append(raw)
        if raw == "坏":
            raise FieldError("不认识")
        return (raw.strip() if isinstance(raw, str) else raw), None
    repeating = _ColumnParser(parse)
    assert repeating.column(["甲", "乙", "甲", "坏", "坏", 1.0, True, 1, 1.0] + ["甲"] * 20) == [
        ("甲", None, None), ("乙", None, None), ("甲", None, None), (None, None, "不认识"), (None, None, "不认识"),
        (1.0, None, None), (True, None, None), (1, None, None), (1.0, None, None)] + [("甲", None, None)] * 20
    assert calls == ["甲", "乙", "坏", 1.0, True, 1] and repeating.memo is not None  # 1.0, True and 1 kept apart
    assert [type(v) for v, _, _ in repeating.column([True, 1, 1.0])] == [bool, int, float] and len(calls) == 6
    across = _ColumnParser(parse)  # one number class per chunk, different chunks
    assert across.column([1.0] * 20)[0] == (1.0, None, None)
    assert [type(v) for v, _, _ in across.column([True] * 20)] == [bool] * 20
    unique = _ColumnParser(parse)
    unique.column([f"XZ-{n}" for n in range(PARSE_CHUNK)])
    assert unique.memo is None  # codes: nothing to gain from remembering them
    assert unique.column(["XZ-1", "XZ-1"]) == [("XZ-1", None, None)] * 2
    assert _ColumnParser(parse).column([["列表"]]) == [(["列表"], None, None)]  # an unhashable cell: cell by cell


def test_reimport_compares_the_stored_extra_attributes(app):
    """A re-import reads the stored extra attributes back (JSON text) to tell unchanged rows from changed ones."""
    from registry.transfer.importer import run_import
    headers = ELEVATOR_HEADERS + ["安全管理员"]
    rows = [dict(good_row(1), 安全管理员="张工"), dict(good_row(2), 安全管理员="")]
    with app.app_context():
        assert run_import(workbook(rows, headers=headers), "电梯.xlsx").created == 2
        same = run_import(workbook(rows, headers=headers), "电梯.xlsx")
        assert (same.updated, same.unchanged) == (0, 2)
        rows[0]["安全管理员"] = "李工"
        changed = run_import(workbook(rows, headers=headers), "电梯.xlsx")
        assert (changed.updated, changed.unchanged) == (1, 1), changed.errors
        assert _assets()["C-DT-00001"].extra == {"安全管理员": "李工"} and _assets()["C-DT-00002"].extra is None
        history = db.session.execute(sa.select(AssetChange.field, AssetChange.before, AssetChange.after)
                                     .where(AssetChange.field.like("extra:%"))).all()
        assert history == [("extra:安全管理员", "张工", "李工")]
