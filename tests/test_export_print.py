"""Every xlsx export prints: fitted columns, frozen header, header repeated, A4 landscape fitted to width."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from registry.assets.filters import AssetFilters
from registry.enums import Category
from registry.sheet_layout import MAX_WIDTH, ColumnWidths, text_width
from tests.factories import make_asset
from tests.planning_helpers import source  # noqa: F401  (fixture)

TWENTY_DIGITS = "31104101002015000017"


def assert_printable(ws, header_rows: int = 1) -> None:
    """Fail unless `ws` has the shared print layout."""
    assert ws.freeze_panes == f"A{header_rows + 1}"
    assert ws.print_title_rows == f"$1:${header_rows}"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    # fitToWidth is 1 unless written otherwise (ECMA-376 default; xlsxwriter leaves it out), fitToHeight 0.
    assert int(ws.page_setup.fitToWidth or 1) == 1 and ws.page_setup.fitToHeight is not None
    assert int(ws.page_setup.fitToHeight) == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert "&P" in (ws.oddFooter.center.text or "")


def _width(ws, header: str, header_row: int = 1) -> float:
    for cell in ws[header_row]:
        if cell.value == header:
            return ws.column_dimensions[cell.column_letter].width
    raise AssertionError(f"no column {header}")


def test_widths_count_cjk_double_and_stay_within_bounds():
    assert text_width("abc") == 3 and text_width("注册代码") == 8 and text_width("ＡＢ") == 4
    assert text_width(date(2026, 1, 2)) == 10 and text_width(None) == 0
    assert text_width("短\n很长的第二行") == 12
    header = ColumnWidths()
    header.observe(["设计使用年限（年）"], header=True)
    header.observe([20])
    assert header.widths() == [9 + 2]
    widths = ColumnWidths()
    widths.observe(["编号", "x", "长" * 200])
    widths.observe([TWENTY_DIGITS])
    assert widths.widths() == [len(TWENTY_DIGITS) + 2, 6, MAX_WIDTH]


def test_ledger_export_prints_and_shows_a_twenty_digit_code(ctx):
    from registry.transfer.exports import export_assets
    make_asset(Category.ELEVATOR, detail={"registration_code": TWENTY_DIGITS}, name="某小区3号楼电梯")
    buf = io.BytesIO()
    assert export_assets(AssetFilters(category=Category.ELEVATOR), buf) == 1
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    ws = wb["电梯"]
    assert_printable(ws)
    assert ws.cell(2, [c.value for c in ws[1]].index("注册代码") + 1).value == TWENTY_DIGITS
    assert _width(ws, "注册代码") >= len(TWENTY_DIGITS) + 1
    assert _width(ws, "设备名称") >= text_width("某小区3号楼电梯")
    assert ws.row_dimensions[1].height >= 32  # the wrapped labels get their two lines
    # Dates keep their format although the column was resized after the rows were written.
    col = [c.value for c in ws[1]].index("投入使用日期") + 1
    assert ws.cell(2, col).number_format == "yyyy-mm-dd"


def test_snapshot_export_prints_with_its_two_header_rows(client, login, app):
    from registry.snapshots.services import build_snapshot
    from registry.extensions import db
    app.config["SNAPSHOT_SOURCE"] = "tests.fake_source:collect"
    with app.app_context():
        make_asset(Category.ELEVATOR, code="E-PRINT", commissioned_on=date(2010, 1, 1))
        snap, _ = build_snapshot("t:print", date(2025, 6, 1))
        db.session.commit()
        snap_id = snap.id
    login("taskforce", None)
    resp = client.get(f"/snapshots/{snap_id}/export.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert_printable(ws, header_rows=2)
    assert ws["A3"].value == "E-PRINT"
    # The long title in A1 does not widen the code column: only the header and the rows count.
    assert _width(ws, "设备编码", header_row=2) < 20


def test_plan_export_prints_every_sheet(client, login, app, source):  # noqa: F811
    from registry.planning.reference import ensure_planning_reference
    with app.app_context():
        ensure_planning_reference()
        source.flag(overdue=4)
    login("taskforce", None)
    resp = client.post("/plans/", data={"year_from": "2025", "year_to": "2027"})
    plan_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    wb = load_workbook(io.BytesIO(client.get(f"/plans/{plan_id}/export.xlsx").data))
    assert_printable(wb["汇总"], header_rows=3)
    for name in ("计划明细", "未能列入", "目标缺口"):
        assert_printable(wb[name])
    assert _width(wb["计划明细"], "乡镇（街道）") >= text_width("乡镇（街道）")


def test_audit_export_prints(client, login):
    login("auditor", None)
    resp = client.get("/audit/export.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data))["审计日志"]
    assert_printable(ws)
    assert _width(ws, "哈希") == 64 + 2 or _width(ws, "哈希") == MAX_WIDTH


@pytest.mark.parametrize("rows", [0, 3])
def test_rules_export_prints(tmp_path, rows):
    from registry.rules.exports import write_xlsx
    path = tmp_path / "findings.xlsx"
    data = [{"asset_code": f"XZ-{i}", "asset_name": "电梯", "rule_code": "XZ-01", "rule_version": 1,
             "outcome_label": "强制更新", "result": "hit", "explanation": "超过设计使用年限", "deadline": None,
             "overdue": False, "as_of": date(2026, 1, 1)} for i in range(rows)]
    assert write_xlsx(data, str(path)) == rows
    ws = load_workbook(path)["评估结果"]
    assert_printable(ws)
    assert ws.max_row == rows + 1
