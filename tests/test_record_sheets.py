"""The 处置记录 and 更新替换记录 sheets of the Excel 台账: export, import with the API's validation, round trip.

Records are imported with the asset sheet in one transaction (all or nothing), through the same
functions the form and the API use; each problem names its sheet, row and column as Excel shows them.
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from registry import clock
from registry.assets.filters import parse_filters
from registry.assets.models import Asset
from registry.audit.models import AuditRecord
from registry.disposals import services
from registry.disposals.models import Disposal, Replacement, ReplacementLink
from registry.enums import Category, LifecycleStatus
from registry.extensions import db
from registry.transfer.excel import error_report
from registry.transfer.exports import export_assets
from registry.transfer.importer import run_import
from registry.transfer.records import DISPOSAL_SHEET, REPLACEMENT_SHEET
from tests.corpus.make_corpus import ELEVATOR_HEADERS, good_row
from tests.excel_helpers import snapshot, upload
from tests.factories import make_asset, make_user

D_HEAD = ["设备编码", "处置方式", "处置日期", "接收企业", "报废机动车回收证明编号", "注销登记编号", "备注"]
R_HEAD = ["新设备编码", "被替换设备编码", "更新日期", "投资金额（元）", "资金来源", "能效水平", "排放标准", "是否新能源", "备注"]
YESTERDAY = clock.today() - timedelta(days=1)


def book(sheets: dict[str, list[list]]) -> bytes:
    """Return an .xlsx with one sheet per entry (first row the header)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fingerprint() -> tuple:
    counts = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                   for m in (Disposal, Replacement, ReplacementLink, AuditRecord))
    return snapshot(), counts


@pytest.fixture
def zjj(ctx):
    return make_user("maintainer", "zjj")


def _elevator(**kw) -> Asset:
    return make_asset(Category.ELEVATOR, commissioned_on=kw.pop("commissioned_on", date(2008, 3, 1)), **kw)


def _export(user) -> openpyxl.Workbook:
    out = io.BytesIO()
    export_assets(parse_filters({"category": "elevator"}), out, user)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def _dispose(asset, user, **kw):
    raw = {"way": "报废拆解", "disposed_on": YESTERDAY.isoformat(), "receiver": "新郑再生资源回收有限公司",
           "deregistration_no": f"ZX-{asset.code}", **kw}
    return services.record_disposal(asset.id, user, services.parse_disposal(raw))


def _replace(new, olds, user, **kw):
    raw = {"new_asset": new.code, "replaces": ",".join(o.code for o in olds), "replaced_on": YESTERDAY.isoformat(),
           "investment_yuan": "456789.12", "funding_source": "超长期特别国债", "efficiency_level": "先进",
           "new_energy": "否", "note": "加装电梯", **kw}
    return services.record_replacement(user, services.parse_replacement(raw))


def test_the_export_has_a_sheet_per_record_type_for_the_exported_assets(zjj):
    old1, old2, new, scrapped = _elevator(), _elevator(), _elevator(), _elevator()
    _replace(new, [old1, old2], zjj)
    _dispose(scrapped, zjj, note="整机拆解")
    machine = make_asset(Category.CONSTRUCTION_MACHINE)  # another category: not in an elevator export
    _dispose(machine, zjj, way="转让", deregistration_no="")
    wb = _export(zjj)
    assert wb.sheetnames == ["电梯", DISPOSAL_SHEET, REPLACEMENT_SHEET, "导出信息"]
    disposals = list(wb[DISPOSAL_SHEET].iter_rows(values_only=True))
    assert list(disposals[0]) == D_HEAD
    assert [r[0] for r in disposals[1:]] == [scrapped.code]
    assert disposals[1][1:4] == ("报废拆解", disposals[1][2], "新郑再生资源回收有限公司") and disposals[1][6] == "整机拆解"
    assert disposals[1][2].date() == YESTERDAY
    replacements = list(wb[REPLACEMENT_SHEET].iter_rows(values_only=True))
    assert list(replacements[0]) == R_HEAD
    assert replacements[1][:2] == (new.code, f"{old1.code}、{old2.code}")
    assert replacements[1][3] == pytest.approx(456789.12) and replacements[1][4:8] == ("超长期特别国债", "先进", None, "否")


def test_an_export_reads_its_records_in_chunks_and_keeps_every_one_in_order(zjj, monkeypatch):
    import registry.transfer.records as record_sheets
    monkeypatch.setattr(record_sheets, "RECORD_CHUNK", 2)  # five disposals and three replacements: several chunks
    scrapped = [_elevator() for _ in range(5)]
    for asset in scrapped:
        _dispose(asset, zjj)
    pairs = [(_elevator(), _elevator()) for _ in range(3)]
    for new, old in pairs:
        _replace(new, [old], zjj)
    wb = _export(zjj)
    assert [r[0] for r in list(wb[DISPOSAL_SHEET].iter_rows(values_only=True))[1:]] == [a.code for a in scrapped]
    assert [r[:2] for r in list(wb[REPLACEMENT_SHEET].iter_rows(values_only=True))[1:]] == \
           [(new.code, old.code) for new, old in pairs]


def test_export_then_reimport_changes_nothing(zjj):
    old, new, scrapped = _elevator(), _elevator(), _elevator()
    _replace(new, [old], zjj)
    _dispose(scrapped, zjj)
    wb = _export(zjj)
    buf = io.BytesIO()
    wb.save(buf)
    before = _fingerprint()
    result = run_import(buf.getvalue(), "电梯台账.xlsx", zjj)
    assert result.ok, [(p.where, p.message) for p in result.errors]
    assert result.created == 0 and result.updated == 0 and result.unchanged == 3
    assert [(r.name, r.created, r.unchanged) for r in result.records] == [(DISPOSAL_SHEET, 0, 1), (REPLACEMENT_SHEET, 0, 1)]
    after = _fingerprint()
    assert after[0] == before[0] and after[1][:3] == before[1][:3]  # only the import's own audit record is new


def test_assets_and_records_of_one_workbook_are_written_together(zjj):
    old = _elevator()
    data = book({"电梯": [ELEVATOR_HEADERS, [good_row(7).get(h) for h in ELEVATOR_HEADERS]],
                 REPLACEMENT_SHEET: [R_HEAD, ["C-DT-00007", old.code, YESTERDAY, 1200000, "地方财政", "节能", None, "是", None]],
                 DISPOSAL_SHEET: [D_HEAD, [old.code, "报废拆解", YESTERDAY, "郑州再生资源公司", None, "ZX-2026-0007", None]]})
    result = run_import(data, "加装电梯.xlsx", zjj)
    assert result.ok, [(p.where, p.message) for p in result.errors]
    new = db.session.scalar(sa.select(Asset).where(Asset.code == "C-DT-00007"))
    row = services.replacement_by_new(new.id)
    assert [link.old_asset_id for link in row.links] == [old.id] and row.new_energy and str(row.investment_yuan) == "1200000.00"
    assert services.disposal_of(old.id).deregistration_no == "ZX-2026-0007"
    assert db.session.get(Asset, old.id).status is LifecycleStatus.RENEWED  # replaced, then disposed: stays 已更新
    actions = set(db.session.scalars(sa.select(AuditRecord.action)))
    assert {"asset.import", "replacement.create", "disposal.create"} <= actions


def test_a_bad_record_row_writes_nothing_not_even_the_asset_rows(zjj):
    old, other = _elevator(), _elevator()
    before = _fingerprint()
    data = book({"电梯": [ELEVATOR_HEADERS, [good_row(8).get(h) for h in ELEVATOR_HEADERS]],
                 REPLACEMENT_SHEET: [R_HEAD, ["C-DT-00008", old.code, YESTERDAY, 1200000, "地方财政", None, None, "否", None]],
                 DISPOSAL_SHEET: [D_HEAD, [old.code, "报废拆解", YESTERDAY, "郑州再生资源公司", None, "ZX-1", None],
                                  [other.code, "转让", date(2001, 1, 1), "某公司", None, None, None]]})
    result = run_import(data, "加装电梯.xlsx", zjj)
    assert not result.ok
    [problem] = result.errors
    assert problem.where == f"「{DISPOSAL_SHEET}」第 3 行 C 列（处置日期）"
    assert "早于投入使用日期 2008-03-01" in problem.message
    assert _fingerprint() == before
    report = openpyxl.load_workbook(io.BytesIO(error_report(result)))
    assert report.sheetnames == ["电梯", DISPOSAL_SHEET, REPLACEMENT_SHEET, "错误清单"]
    assert "早于投入使用日期" in report[DISPOSAL_SHEET]["C3"].comment.text
    assert report["错误清单"]["B2"].value == f"「{DISPOSAL_SHEET}」C 列（处置日期）"


FUTURE = clock.today() + timedelta(days=1)


@pytest.mark.parametrize("sheet, row, cell, words", [
    (DISPOSAL_SHEET, ["{old}", "转让", FUTURE, "某公司", None, None, None], "C 列（处置日期）", "未来日期"),
    (DISPOSAL_SHEET, ["{old}", "转让", date(2001, 1, 1), "某公司", None, None, None], "C 列（处置日期）", "早于投入使用日期"),
    (DISPOSAL_SHEET, ["{old}", "卖掉", YESTERDAY, "某公司", None, None, None], "B 列（处置方式）", "报废拆解"),
    (DISPOSAL_SHEET, ["{old}", "报废拆解", YESTERDAY, "某公司", None, "ZX-USED", None], "F 列（注销登记编号）", "已用于设备"),
    (DISPOSAL_SHEET, ["{old}", "报废拆解", YESTERDAY, "某公司", None, None, None], "F 列（注销登记编号）", "须填写"),
    (DISPOSAL_SHEET, ["NO-SUCH-CODE", "转让", YESTERDAY, "某公司", None, None, None], "A 列（设备编码）", "不存在"),
    (REPLACEMENT_SHEET, ["{new}", "{old}", YESTERDAY, -5, "自筹", None, None, "否", None], "D 列（投资金额（元））", "大于 0"),
    (REPLACEMENT_SHEET, ["{new}", "{old}", YESTERDAY, 3e9, "自筹", None, None, "否", None], "D 列（投资金额（元））", "上限"),
    (REPLACEMENT_SHEET, ["{new}", "{old}", YESTERDAY, "1e8", "自筹", None, None, "否", None], "D 列（投资金额（元））", "不是数字"),
    (REPLACEMENT_SHEET, ["{new}", "{farm}", YESTERDAY, 500, "自筹", None, None, "否", None], "B 列（被替换设备编码）", "不是同一部门"),
    (REPLACEMENT_SHEET, ["{new}", "{old}", FUTURE, 500, "自筹", None, None, "否", None], "C 列（更新日期）", "未来日期"),
    (REPLACEMENT_SHEET, ["{new}", "{old}", YESTERDAY, 500, "捐赠", None, None, "否", None], "E 列（资金来源）", "中央预算内投资"),
])
def test_bad_records_are_refused_at_their_cell_and_nothing_is_written(zjj, sheet, row, cell, words):
    old, new, used = _elevator(), _elevator(), _elevator()
    _dispose(used, zjj, deregistration_no="ZX-USED")
    farm = make_asset(Category.FARM_MACHINE)  # 农业农村局's
    codes = {"{old}": old.code, "{new}": new.code, "{farm}": farm.code}
    data = book({sheet: [D_HEAD if sheet == DISPOSAL_SHEET else R_HEAD, [codes.get(v, v) for v in row]]})
    before = _fingerprint()
    result = run_import(data, "记录.xlsx", zjj)
    assert not result.ok
    assert any(p.where == f"「{sheet}」第 2 行 {cell}" and words in p.message for p in result.errors), \
        [(p.where, p.message) for p in result.errors]
    assert _fingerprint() == before
    assert db.session.get(Asset, old.id).status is LifecycleStatus.IN_USE


def test_one_certificate_twice_in_the_same_file_is_refused(zjj):
    a, b = _elevator(), _elevator()
    data = book({DISPOSAL_SHEET: [D_HEAD, [a.code, "报废拆解", YESTERDAY, "某公司", None, "ZX-9", None],
                                  [b.code, "报废拆解", YESTERDAY, "某公司", None, "ZX-9", None]]})
    before = _fingerprint()
    result = run_import(data, "记录.xlsx", zjj)
    assert [(p.where, a.code in p.message) for p in result.errors] == [(f"「{DISPOSAL_SHEET}」第 3 行 F 列（注销登记编号）", True)]
    assert _fingerprint() == before


def test_another_departments_assets_and_a_changed_record_are_refused(zjj):
    farm, old = make_asset(Category.FARM_MACHINE), _elevator()
    _dispose(old, zjj)
    data = book({DISPOSAL_SHEET: [D_HEAD, [farm.code, "转让", YESTERDAY, "某公司", None, None, None],
                                  [old.code, "报废拆解", YESTERDAY, "另一家公司", None, f"ZX-{old.code}", None]]})
    before = _fingerprint()
    result = run_import(data, "记录.xlsx", zjj)
    found = {p.where: p.message for p in result.errors}
    assert "不存在或您无权修改" in found[f"「{DISPOSAL_SHEET}」第 2 行 A 列（设备编码）"]
    assert "已有处置记录" in found[f"「{DISPOSAL_SHEET}」第 3 行 A 列（设备编码）"]
    assert _fingerprint() == before


def test_a_record_sheet_with_a_wrong_header_is_refused_as_a_file(zjj):
    from registry.transfer.upload import ImportRejected
    with pytest.raises(ImportRejected) as exc:
        run_import(book({DISPOSAL_SHEET: [["设备编码", "处置方式", "颜色"], ["X", "转让", "红"]]}), "记录.xlsx", zjj)
    assert "处置日期" in str(exc.value.errors) and "颜色" in str(exc.value.errors)


def test_the_web_upload_shows_record_errors_by_sheet_row_and_column(app, client, login):
    with app.app_context():
        old_id, old_code = (a := _elevator()).id, a.code
    login("maintainer", "zjj")
    data = book({DISPOSAL_SHEET: [D_HEAD, [old_code, "转让", FUTURE, "某公司", None, None, None]]})
    resp = upload(client, data, "处置.xlsx")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f"「{DISPOSAL_SHEET}」C 列（处置日期）" in page and "未来日期" in page
    data = book({DISPOSAL_SHEET: [D_HEAD, [old_code, "转让", YESTERDAY, "某公司", None, None, None]]})
    resp = upload(client, data, "处置.xlsx")
    assert resp.status_code == 200 and f"{DISPOSAL_SHEET}：共 1 行，新登记 1 条" in resp.get_data(as_text=True)
    with app.app_context():
        assert services.disposal_of(old_id).receiver == "某公司"


def test_the_cli_exports_and_imports_the_record_sheets(app, runner, tmp_path):
    with app.app_context():
        zjj = make_user("maintainer", "zjj")
        old, new = _elevator(), _elevator()
        _replace(new, [old], zjj)
        spare = _elevator()
        old, new, spare = (a.code for a in (old, new, spare))
    out = tmp_path / "电梯.xlsx"
    done = runner.invoke(args=["registry", "export", "--category", "elevator", "--out", str(out)])
    assert done.exit_code == 0, done.output
    wb = openpyxl.load_workbook(out)
    assert [r[0] for r in wb[REPLACEMENT_SHEET].iter_rows(min_row=2, values_only=True)] == [new]
    wb[DISPOSAL_SHEET].append([spare, "调拨", YESTERDAY, "新郑市第二人民医院", None, None, None])
    wb.save(out)
    done = runner.invoke(args=["registry", "import", str(out)])
    assert done.exit_code == 0, done.output
    assert f"{DISPOSAL_SHEET} 1 行，新登记 1" in done.output and f"{REPLACEMENT_SHEET} 1 行，新登记 0，已有且相同 1" in done.output
    wb[DISPOSAL_SHEET].append([old, "调拨", FUTURE, "某单位", None, None, None])
    wb.save(out)
    done = runner.invoke(args=["registry", "import", str(out)])
    assert done.exit_code != 0 and f"「{DISPOSAL_SHEET}」第 3 行 C 列（处置日期）" in done.output


def test_record_sheets_beside_a_sheet_that_is_not_the_template_are_refused(zjj):
    from registry.transfer.upload import ImportRejected
    old = _elevator()
    data = book({"Sheet1": [["序号", "名称"], [1, "电梯"]],
                 DISPOSAL_SHEET: [D_HEAD, [old.code, "转让", YESTERDAY, "某公司", None, None, None]]})
    before = _fingerprint()
    with pytest.raises(ImportRejected) as exc:
        run_import(data, "混合.xlsx", zjj)
    assert "Sheet1" in exc.value.message and DISPOSAL_SHEET in exc.value.message
    assert _fingerprint() == before


def test_record_sheets_alone_import_even_beside_the_instructions_sheet(zjj):
    old = _elevator()
    data = book({"说明": [["填写说明"]], DISPOSAL_SHEET: [D_HEAD, [old.code, "转让", YESTERDAY, "某公司", None, None, None]]})
    result = run_import(data, "处置.xlsx", zjj)
    assert result.ok and result.category is None and [(r.name, r.created) for r in result.records] == [(DISPOSAL_SHEET, 1)]
    assert db.session.get(Asset, old.id).status is LifecycleStatus.SCRAPPED
