"""Write findings to an .xlsx sheet (openpyxl write-only mode: constant memory)."""
from __future__ import annotations

from typing import Iterable

from registry.cells import openpyxl_row
from registry.sheet_layout import PrintableWorkbook

HEADERS = (("asset_code", "设备编号"), ("asset_name", "设备名称"), ("rule_code", "规则"), ("rule_version", "版本"),
           ("outcome_label", "处理结果"), ("result", "判定"), ("explanation", "说明"), ("deadline", "整改期限"),
           ("overdue", "是否逾期"), ("as_of", "评估日期"))


def write_xlsx(rows: Iterable[dict], path: str) -> int:
    """Write finding rows to `path`; return how many were written."""
    book = PrintableWorkbook()
    sheet = book.sheet("评估结果")
    sheet.append(openpyxl_row(sheet, [label for _key, label in HEADERS]))
    n = 0
    for row in rows:
        values = dict(row)
        values["result"] = "命中" if row["result"] == "hit" else "无法判定"
        values["overdue"] = "是" if row["overdue"] else ""
        sheet.append(openpyxl_row(sheet, [values.get(key) for key, _label in HEADERS]))
        n += 1
    book.save(path)
    return n
