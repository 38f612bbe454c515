"""Snapshot lists as .xlsx (all filtered rows) and as a printable PDF per department."""
from __future__ import annotations

import sqlalchemy as sa
from openpyxl.styles import Font

from registry.audit import services as audit
from registry.cells import openpyxl_cell, openpyxl_row
from registry.enums import DiffStatus
from registry.errors import NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department
from registry.orgs.services import department_by_code
from registry.pdf import render_pdf
from registry.sheet_layout import PrintableWorkbook
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.queries import ItemFilter, items_query, visible_departments

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

    dept_names = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    wb = PrintableWorkbook()
    ws = wb.sheet("强制更新清单", header_rows=2)
    bold = Font(bold=True)
    ws.append([openpyxl_cell(ws, f"强制更新清单（截至 {snapshot.as_of:%Y-%m-%d}，快照 #{snapshot.id}，"
                                 f"内容摘要 {snapshot.content_hash[:16]}）", font=bold)], measure=False)
    ws.append(openpyxl_row(ws, HEADERS, font=bold))
    for item in db.session.scalars(query.execution_options(yield_per=2000)):
        ws.append(openpyxl_row(ws, _row(item, dept_names)))  # names and units are user text: never formulas
    return wb.to_bytes()


def department_pdf(snapshot: Snapshot, department: Department, query, total: int) -> bytes:
    """Render the department's open items as an A4 landscape list with header and page numbers."""
    if total > PDF_MAX_ROWS:
        raise ValidationFailed(f"该清单共 {total} 条，超过单个 PDF 的上限 {PDF_MAX_ROWS} 条，请按类别或乡镇筛选后再导出",
                               {"筛选": ["请选择类别或乡镇/街道"]})
    items = list(db.session.scalars(query))
    return render_pdf("pdf/snapshot_list.html",
                      {"snapshot": snapshot, "department": department, "items": items, "DiffStatus": DiffStatus},
                      stylesheet="snapshot-list.css")


def export_list_xlsx(snapshot: Snapshot, user, item_filter: ItemFilter) -> bytes:
    """Return the filtered list `user` may see as .xlsx, audited."""
    data = xlsx_bytes(snapshot, items_query(snapshot, user, item_filter))
    audit.record("snapshot.export", object_type="snapshot", object_id=snapshot.id,
                 details={"format": "xlsx", "filters": item_filter.args()})
    db.session.commit()
    return data


def export_department_pdf(snapshot: Snapshot, code: str, user, item_filter: ItemFilter) -> tuple[Department, bytes]:
    """Return one department's open items (or the filtered diff class) as a PDF, audited."""
    department = department_by_code(code)
    if department is None:
        raise NotFound(f"主管部门 {code} 不存在")
    if department not in visible_departments(user):
        raise PermissionDenied("只能导出本部门的清单")
    item_filter.department = code
    if not item_filter.diff:
        item_filter.result = item_filter.result or "hit"
    conds = [] if item_filter.diff == "resolved" else [SnapshotItem.diff != DiffStatus.RESOLVED]
    query = items_query(snapshot, user, item_filter).where(*conds)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    data = department_pdf(snapshot, department, query, total)
    audit.record("snapshot.export", object_type="snapshot", object_id=snapshot.id,
                 details={"format": "pdf", "department": code, "filters": item_filter.args()})
    db.session.commit()
    return department, data
