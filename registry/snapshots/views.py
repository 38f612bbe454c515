"""Snapshot pages: the list of snapshots, one snapshot filtered with its diff, and its exports."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.audit import services as audit
from registry.enums import DiffStatus
from registry.errors import NotFound, PermissionDenied
from registry.extensions import db
from registry.orgs.models import Department
from registry.snapshots import exports, queries
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.queries import DIFF_FILTERS, RESULT_FILTERS, ItemFilter

bp = Blueprint("snapshots", __name__, url_prefix="/snapshots")
PAGE_SIZE = 100


@bp.route("/")
@roles_required(*BUSINESS_READERS)
def index():
    """List the snapshots, newest first, with the latest monthly overdue reminder per department."""
    departments = queries.visible_departments(current_user)
    return render_template("snapshots/index.html", snapshots=queries.list_snapshots(), departments=departments,
                           reminder=queries.latest_reminder(departments))


@bp.route("/<int:snapshot_id>")
@roles_required(*BUSINESS_READERS)
def detail(snapshot_id: int):
    """Show one snapshot: summary, diff counts, and the filtered items with the diff highlighted."""
    snapshot = queries.get_snapshot(snapshot_id)
    item_filter = ItemFilter.from_args(request.args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total = queries.count_items(snapshot, current_user, item_filter)
    items = db.session.scalars(queries.items_query(snapshot, current_user, item_filter)
                               .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    departments = queries.visible_departments(current_user)
    return render_template("snapshots/detail.html", snapshot=snapshot, items=items, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), f=item_filter,
                           summary=queries.scoped_summary(snapshot, current_user), departments=departments,
                           dept_names={d.id: d.name for d in db.session.scalars(sa.select(Department))},
                           diff_filters=DIFF_FILTERS, result_filters=RESULT_FILTERS,
                           previous=db.session.get(Snapshot, snapshot.previous_id) if snapshot.previous_id else None)


@bp.route("/<int:snapshot_id>/export.xlsx")
@roles_required(*BUSINESS_READERS)
def export_xlsx(snapshot_id: int):
    """Download the filtered list as .xlsx."""
    snapshot = queries.get_snapshot(snapshot_id)
    item_filter = ItemFilter.from_args(request.args)
    data = exports.xlsx_bytes(snapshot, queries.items_query(snapshot, current_user, item_filter))
    audit.record("snapshot.export", object_type="snapshot", object_id=snapshot.id,
                 details={"format": "xlsx", "filters": item_filter.args()})
    db.session.commit()
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _attachment(f"强制更新清单-{snapshot.as_of}-{snapshot.id}.xlsx")})


@bp.route("/<int:snapshot_id>/departments/<code>.pdf")
@roles_required(*BUSINESS_READERS)
def department_pdf(snapshot_id: int, code: str):
    """Download one department's open items as a printable A4 landscape PDF."""
    snapshot = queries.get_snapshot(snapshot_id)
    department = db.session.scalar(sa.select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"主管部门 {code} 不存在")
    if department not in queries.visible_departments(current_user):
        raise PermissionDenied("只能导出本部门的清单")
    item_filter = ItemFilter.from_args(request.args)
    item_filter.department = code
    if not item_filter.diff:
        item_filter.result = item_filter.result or "hit"
    conds = [] if item_filter.diff == "resolved" else [SnapshotItem.diff != DiffStatus.RESOLVED]
    query = queries.items_query(snapshot, current_user, item_filter).where(*conds)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    data = exports.department_pdf(snapshot, department, query, total)
    audit.record("snapshot.export", object_type="snapshot", object_id=snapshot.id,
                 details={"format": "pdf", "department": code, "filters": item_filter.args()})
    db.session.commit()
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": _attachment(f"强制更新清单-{department.name}-{snapshot.as_of}.pdf",
                                                                inline=True)})


def _attachment(filename: str, inline: bool = False) -> str:
    from urllib.parse import quote
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=snapshot.{filename.rsplit('.', 1)[1]}; filename*=UTF-8''{quote(filename)}"
