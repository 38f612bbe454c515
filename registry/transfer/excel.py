"""Workbooks the registry writes: per-category templates, 台账 exports and error reports (XlsxWriter).

The data sheet is always named after the category label (电梯, 公务用车 ...) with the field labels
in row 1, so a template, an export and a corrected error report all import the same way.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Iterable

import xlsxwriter

from registry.assets.fields import FieldSpec, fields_for
from registry.cells import XlsxWriterCells, clean_text, is_plain_number
from registry.enums import Category
from registry.inputs import show
from registry.orgs.reference import TOWNSHIPS
from registry.sheet_layout import LINE_HEIGHT, SAMPLE_ROWS, ColumnWidths, apply_xlsxwriter
from registry.transfer import records

MAX_EXCEL_ROWS = 1_048_575
DATE_FORMAT = "yyyy-mm-dd"
KIND_FORMAT = {
    "str": "文本", "text": "文本（可多行）", "unit": "单位全称（文本）", "department": "文本",
    "int": "整数", "decimal": "数字", "bool": "是 / 否（下拉选择）", "enum": "从下拉列表选择",
    "date": "日期：2015-06-01、2015/6/1、2015.6.1、2015年6月1日 或 Excel 日期；只写“2015年6月”按当月1日计并提示",
}


def _choices(spec: FieldSpec) -> list[str] | None:
    if spec.kind == "enum":
        return spec.enum.labels()
    if spec.kind == "bool":
        return ["是", "否"]
    if spec.name == "township":
        return list(TOWNSHIPS)
    return None


def _format_text(spec: FieldSpec) -> str:
    text = KIND_FORMAT[spec.kind]
    if spec.max_length:
        text += f"，最多 {spec.max_length} 个字"
    if spec.minimum is not None and spec.maximum is not None:
        text += f"，范围 {spec.minimum:g}～{spec.maximum:g}"
    return text


def _header(wb, ws, specs: list[FieldSpec], comments: bool) -> dict:
    wrap = {"text_wrap": True, "valign": "vcenter"}  # a long label wraps instead of widening the printed page
    fmt = {"req": wb.add_format({"bold": True, "font_color": "#C00000", "bg_color": "#FDE9E7", "border": 1, **wrap}),
           "opt": wb.add_format({"bold": True, "bg_color": "#EEF2F6", "border": 1, **wrap}),
           "date": wb.add_format({"num_format": DATE_FORMAT})}
    for col, spec in enumerate(specs):
        ws.set_column(col, col, max(10, min(40, len(spec.label) * 2 + 4)),
                      fmt["date"] if spec.kind == "date" else None)
        ws.write_string(0, col, spec.label, fmt["req" if spec.required else "opt"])
        if comments:
            note = ("必填。" if spec.required else "") + _format_text(spec) + ("。" + spec.help if spec.help else "")
            ws.write_comment(0, col, note, {"x_scale": 2, "y_scale": 1.5})
    ws.freeze_panes(1, 0)
    return fmt


def build_template(category: Category) -> bytes:
    """Return the import template of `category`: header, dropdowns, date formats and a 说明 sheet."""
    specs = list(fields_for(category))
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(category.label)
    _header(wb, ws, specs, comments=True)
    for col, spec in enumerate(specs):
        choices = _choices(spec)
        if choices:
            ws.data_validation(1, col, MAX_EXCEL_ROWS, col, {
                "validate": "list", "source": choices, "error_title": "无效选项",
                "error_message": f"{spec.label}只能从下拉列表中选择：{'、'.join(choices)}"[:255]})
        elif spec.kind == "date":
            ws.data_validation(1, col, MAX_EXCEL_ROWS, col, {
                "validate": "any", "input_title": spec.label[:32], "input_message": "日期，如 2015-06-01"})
    _instructions(wb, category, specs)
    wb.close()
    return buf.getvalue()


def _instructions(wb, category: Category, specs: list[FieldSpec]) -> None:
    ws = wb.add_worksheet("说明")
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F6", "border": 1, "text_wrap": True, "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    title = wb.add_format({"bold": True, "font_size": 14})
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 6)
    ws.set_column(2, 2, 36)
    ws.set_column(3, 3, 40)
    ws.set_column(4, 4, 40)
    lines = [
        f"{category.label}台账导入模板 填写说明",
        f"1. 在「{category.label}」工作表第 2 行起逐行填写，每行一台（套/段）设备；第 1 行列名不要修改。"
        "红色列名为必填列。",
        "2. 设备编码全市唯一：系统中已有的编码将按本行更新（修改记入变更历史），没有的编码将新建。",
        "3. 不要合并单元格、不要使用公式、不要隐藏工作表；整个文件校验通过后才会写入，任一行有错则全部不写入。",
        "4. 产权单位、使用单位填写单位全称；系统中没有的单位将在本行的乡镇/街道下自动新建。",
        "5. 已有设备的某列留空表示清空该项（使用状态、大型医用设备留空则保持原值）；删除整列则该列保持原值。",
    ]
    for row, text in enumerate(lines):
        ws.write_string(row, 0, text, title if row == 0 else None)
    top = len(lines) + 1
    for col, head in enumerate(("列名", "必填", "格式", "可选值", "说明")):
        ws.write_string(top, col, head, bold)
    for i, spec in enumerate(specs, start=top + 1):
        choices = _choices(spec)
        ws.write_string(i, 0, spec.label, wrap)
        ws.write_string(i, 1, "是" if spec.required else "", wrap)
        ws.write_string(i, 2, _format_text(spec), wrap)
        ws.write_string(i, 3, "、".join(choices) if choices else "", wrap)
        ws.write_string(i, 4, spec.help, wrap)


def _write_cell(cells: XlsxWriterCells, ws, row: int, col: int, value, date_fmt, cell_fmt=None) -> None:
    """Write one value with its type kept (text never a formula; NaN, infinity and control characters never break the file)."""
    if value is None or value == "":
        if cell_fmt is not None:
            ws.write_blank(row, col, None, cell_fmt)
        return
    if hasattr(value, "label"):
        cells.write_text(ws, row, col, value.label, cell_fmt)
    elif isinstance(value, bool):
        cells.write_text(ws, row, col, "是" if value else "否", cell_fmt)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(row, col, value, cell_fmt or date_fmt)
    elif isinstance(value, (int, float, Decimal)) and is_plain_number(value):
        ws.write_number(row, col, float(value), cell_fmt)
    elif isinstance(value, (int, float, Decimal)):  # an uploaded "inf"/NaN cell, shown as it came in the error report
        cells.write_text(ws, row, col, show(value), cell_fmt)
    else:
        cells.write_text(ws, row, col, str(value), cell_fmt)


def write_export(category: Category, rows: Iterable[list], out: IO[bytes] | str, info: dict[str, str],
                 extra_keys: list[str] = (), record_rows: dict[str, list[list]] | None = None) -> int:
    """Write a 台账 (rows in `fields_for(category)` order, then extra attributes) to `out`; return the row count.

    `record_rows` holds the rows of the record sheets (registry.transfer.records), written after the asset sheet.
    """
    specs = list(fields_for(category))
    wb = xlsxwriter.Workbook(out, {"constant_memory": True})
    cells = XlsxWriterCells(wb)
    ws = wb.add_worksheet(category.label)
    ws.set_row(0, 2 * LINE_HEIGHT)  # labels wrap onto two lines (half-width headers); set before the row streams
    fmt = _header(wb, ws, specs, comments=False)
    for col, key in enumerate(extra_keys, start=len(specs)):
        ws.write_string(0, col, key, fmt["opt"])  # the ledger's own column, read back as the same attribute
    widths = ColumnWidths()
    widths.observe([spec.label for spec in specs] + list(extra_keys), header=True)
    count = 0
    for count, values in enumerate(rows, start=1):
        if count > MAX_EXCEL_ROWS:
            wb.close()
            raise OverflowError(count)
        if count <= SAMPLE_ROWS:
            widths.observe(values)
        for col, value in enumerate(values):
            _write_cell(cells, ws, count, col, value, fmt["date"])
    apply_xlsxwriter(ws, widths.widths(), header_rows=1,
                     column_formats={col: fmt["date"] for col, spec in enumerate(specs) if spec.kind == "date"})
    for name, sheet_rows in (record_rows or {}).items():
        _record_sheet(wb, cells, fmt, name, sheet_rows)
    meta = wb.add_worksheet("导出信息")
    meta_widths = ColumnWidths()
    for i, (key, value) in enumerate({**info, "记录数": str(count)}.items()):
        cells.write_text(meta, i, 0, key)
        cells.write_text(meta, i, 1, value)  # filters the user typed
        meta_widths.observe((key, value))
    apply_xlsxwriter(meta, meta_widths.widths(), header_rows=0)
    wb.close()
    return count


def _record_sheet(wb, cells: XlsxWriterCells, fmt: dict, name: str, rows: list[list]) -> None:
    """Write one record sheet: its header (required in red, with the help as a comment) and rows."""
    columns = records.SHEETS[name]
    ws = wb.add_worksheet(name)
    ws.set_row(0, 2 * LINE_HEIGHT)
    for col, column in enumerate(columns):
        ws.write_string(0, col, column.label, fmt["req" if column.required else "opt"])
        if column.help:
            ws.write_comment(0, col, ("必填。" if column.required else "") + column.help, {"x_scale": 2})
    widths = ColumnWidths()
    widths.observe([c.label for c in columns], header=True)
    for r, values in enumerate(rows, start=1):
        if r <= SAMPLE_ROWS:
            widths.observe(values)
        for col, value in enumerate(values):
            _write_cell(cells, ws, r, col, value, fmt["date"])
    apply_xlsxwriter(ws, widths.widths(), header_rows=1)


MAX_COMMENTS = 2000  # comments beyond this are still listed on the 错误清单 sheet


def error_report(result) -> bytes:
    """Return a copy of the upload with every bad cell filled red and commented, plus a 错误清单 sheet.

    The record sheets (处置记录, 更新替换记录) read with the asset sheet are copied and marked the same way.
    """
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True})
    cells = XlsxWriterCells(wb)
    date_fmt = cells.add_format({"num_format": DATE_FORMAT})
    bad = cells.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "border": 1, "border_color": "#C00000"})
    bad_date = cells.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "border": 1,
                                 "border_color": "#C00000", "num_format": DATE_FORMAT})
    formats = (date_fmt, bad, bad_date)
    comments = 0
    if result.sheet is not None:
        name = result.sheet.name or (result.category.label if result.category else "数据")
        comments = _marked_sheet(wb, cells, formats, name, result.sheet, [p for p in result.errors if p.sheet is None],
                                 result.header_row, comments)
    for record_sheet in result.records:
        comments = _marked_sheet(wb, cells, formats, record_sheet.name, record_sheet.sheet,
                                 [p for p in result.errors if p.sheet == record_sheet.name], record_sheet.header_row,
                                 comments)
    sheet = wb.add_worksheet("错误清单")
    head = wb.add_format({"bold": True, "bg_color": "#EEF2F6"})
    for c, text in enumerate(("行", "列", "问题")):
        sheet.write_string(0, c, text, head)
    sheet.set_column(1, 1, 20)
    sheet.set_column(2, 2, 80)
    for i, p in enumerate(result.errors, start=1):
        sheet.write_number(i, 0, p.row)
        cells.write_text(sheet, i, 1, (f"「{p.sheet}」" if p.sheet else "") + p.column)  # a header from the upload
        cells.write_text(sheet, i, 2, p.message)
    wb.close()
    return buf.getvalue()


def _marked_sheet(wb, cells: XlsxWriterCells, formats, name: str, raw_sheet, problems, header_row: int,
                  comments: int) -> int:
    """Copy one uploaded sheet with the cells of `problems` filled red and commented; return the comments made."""
    date_fmt, bad, bad_date = formats
    by_cell: dict[tuple[int, int], list[str]] = {}
    for p in problems:
        if p.col is not None:
            by_cell.setdefault((p.row - 1, p.col), []).append(p.message)
    bad_cols: dict[int, list[int]] = {}
    for r, c in sorted(by_cell):
        bad_cols.setdefault(r, []).append(c)
    ws = wb.add_worksheet(name)
    for r, row in enumerate(raw_sheet.iter_rows()):
        for c, value in enumerate(row):
            messages = by_cell.get((r, c))
            if messages is None:
                _write_cell(cells, ws, r, c, value, date_fmt)
                continue
            _write_cell(cells, ws, r, c, value, date_fmt, bad_date if isinstance(value, date) else bad)
            if comments < MAX_COMMENTS:
                ws.write_comment(r, c, clean_text("\n".join(messages)[:1000]), {"x_scale": 2})
                comments += 1
        for c in bad_cols.get(r, ()):
            if c >= len(row):  # a short CSV row: highlight the missing cell too
                ws.write_blank(r, c, None, bad)
                if comments < MAX_COMMENTS:
                    ws.write_comment(r, c, clean_text("\n".join(by_cell[(r, c)])[:1000]), {"x_scale": 2})
                    comments += 1
    ws.freeze_panes(header_row, 0)
    return comments
