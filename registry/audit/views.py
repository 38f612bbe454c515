"""The audit administrator's pages: search the log and export it."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.audit import names, search as audit_search
from registry.downloads import send_bytes
from registry.enums import Role
from registry.errors import ValidationFailed

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _before(raw: str | None) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationFailed("查询条件有误", {"分页": [f"「{raw[:32]}」不是有效的分页位置"]})
    return int(raw)


@bp.route("/")
@roles_required(Role.AUDITOR)
def index():
    """Search the audit log, newest first, one keyset page at a time."""
    errors = None
    rows, next_before, filters = [], None, audit_search.AuditFilter()
    try:
        filters = audit_search.parse_filters(request.args)
        rows, next_before = audit_search.search(filters, _before(request.args.get("before")))
    except ValidationFailed as exc:
        errors = exc.errors
    return render_template("audit/index.html", rows=rows, next_before=next_before, filters=filters,
                           args=request.args, errors=errors, outcomes=audit_search.OUTCOMES,
                           local_time=audit_search.local_time, names=names), 422 if errors else 200


def _export(build, extension: str):
    """Send the records matching the query string as `build(filters, user)` writes them (it audits the export)."""
    filters = audit_search.parse_filters(request.args)
    data, _count = build(filters, current_user)
    return send_bytes(data, f"audit-{clock.local_stamp()}.{extension}")


@bp.route("/export.xlsx")
@roles_required(Role.AUDITOR)
def export():
    """Download the matching records as an Excel workbook (the export is itself audited)."""
    return _export(audit_search.export_xlsx, "xlsx")


@bp.route("/export.csv")
@roles_required(Role.AUDITOR)
def export_csv():
    """Download the matching records as CSV (faster than Excel for large ranges; also audited)."""
    return _export(audit_search.export_csv, "csv")
