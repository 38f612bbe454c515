"""Snapshot pages: the list of snapshots, one snapshot filtered with its diff, and its exports."""
from __future__ import annotations


from flask import Blueprint, render_template, request
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.downloads import send_bytes
from registry.inputs import MAX_PAGE, query_int
from registry.orgs.services import all_departments
from registry.snapshots import exports, queries
from registry.snapshots.queries import DIFF_FILTERS, RESULT_FILTERS, ItemFilter

bp = Blueprint("snapshots", __name__, url_prefix="/snapshots")
PAGE_SIZE = 100


def _filtered(snapshot_id: int):
    """Return the snapshot (or 404) and the item filter of the query string."""
    return queries.get_snapshot(snapshot_id), ItemFilter.from_args(request.args)


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
    snapshot, item_filter = _filtered(snapshot_id)
    page = query_int("page", "页码", 1, MAX_PAGE, 1)
    total = queries.count_items(snapshot, current_user, item_filter)
    items = queries.items_page(snapshot, current_user, item_filter, page, PAGE_SIZE)
    departments = queries.visible_departments(current_user)
    return render_template("snapshots/detail.html", snapshot=snapshot, items=items, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), f=item_filter,
                           summary=queries.scoped_summary(snapshot, current_user), departments=departments,
                           dept_names={d.id: d.name for d in all_departments()},
                           diff_filters=DIFF_FILTERS, result_filters=RESULT_FILTERS,
                           previous=queries.previous_of(snapshot))


@bp.route("/<int:snapshot_id>/export.xlsx")
@roles_required(*BUSINESS_READERS)
def export_xlsx(snapshot_id: int):
    """Download the filtered list as .xlsx."""
    snapshot, item_filter = _filtered(snapshot_id)
    data = exports.export_list_xlsx(snapshot, current_user, item_filter)
    return send_bytes(data, f"强制更新清单-{snapshot.as_of}-{snapshot.id}.xlsx", fallback="snapshot.xlsx")


@bp.route("/<int:snapshot_id>/departments/<code>.pdf")
@roles_required(*BUSINESS_READERS)
def department_pdf(snapshot_id: int, code: str):
    """Download one department's open items as a printable A4 landscape PDF."""
    snapshot, item_filter = _filtered(snapshot_id)
    department, data = exports.export_department_pdf(snapshot, code, current_user, item_filter)
    return send_bytes(data, f"强制更新清单-{department.name}-{snapshot.as_of}.pdf", inline=True, fallback="snapshot.pdf")
