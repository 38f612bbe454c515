"""Snapshot lists as .xlsx (all filtered rows) and as a printable PDF per department."""
from __future__ import annotations

import io

import sqlalchemy as sa

from registry.enums import DiffStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department
from registry.snapshots.models import Snapshot

PDF_MAX_ROWS = 2000
HEADERS = ("设备编码", "设备名称", "类别", "主管部门", "乡镇/街道", "产权单位", "规则", "规则版本", "依据",
           "结论", "评估结果", "说明", "整改期限", "是否逾期", "与上期比较")


def _row(item, dept_names: dict[int, str]) -> list:
    return [item.asset_code, item.asset_name, item.category.label, dept_names.get(item.department_id, ""),
            item.township, item.owner_unit, item.rule_code, item.rule_version, item.citation, item.outcome.label,
            "命中" if item.result == "hit" else "无法评估", item.explanation, item.deadline,
            "是" if item.overdue else "否", item.diff.label]


def xlsx_bytes(snapshot: Snapshot, query) -> bytes:
    """Write the snapshot's filtered items to an .xlsx workbook (write-only mode: flat memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    dept_names = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("强制更新清单")
    ws.freeze_panes = "A3"
    for col, width in zip("ABCDEFGHIJKLMNO", (16, 18, 12, 12, 12, 22, 9, 8, 24, 9, 9, 48, 12, 8, 10)):
        ws.column_dimensions[col].width = width
    title = WriteOnlyCell(ws, value=f"强制更新清单（截至 {snapshot.as_of:%Y-%m-%d}，快照 #{snapshot.id}，"
                                    f"内容摘要 {snapshot.content_hash[:16]}）")
    title.font = Font(bold=True)
    ws.append([title])
    header = []
    for text in HEADERS:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for item in db.session.scalars(query.execution_options(yield_per=2000)):
        ws.append(_row(item, dept_names))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def department_pdf(snapshot: Snapshot, department: Department, query, total: int) -> bytes:
    """Render the department's open items as an A4 landscape list with header and page numbers."""
    from registry.pdf import render_pdf
    if total > PDF_MAX_ROWS:
        raise ValidationFailed(f"该清单共 {total} 条，超过单个 PDF 的上限 {PDF_MAX_ROWS} 条，请按类别或乡镇筛选后再导出",
                               {"筛选": ["请选择类别或乡镇/街道"]})
    items = list(db.session.scalars(query))
    return render_pdf("pdf/snapshot_list.html",
                      {"snapshot": snapshot, "department": department, "items": items, "DiffStatus": DiffStatus},
                      stylesheet="snapshot-list.css")
