"""HTML pages: notice list and detail, lifecycle forms, batch printing, templates, seal; public verification."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.enums import MANDATORY_OUTCOMES, Category, CompletionKind, NoticeStatus, Role
from registry.errors import DomainError, ValidationFailed
from registry.extensions import db, limiter
from registry.notices import forms, lifecycle, seals, texts
from registry.notices.models import Notice
from registry.notices.services import find_notices, get_notice, record_download
from registry.orgs.reference import TOWNSHIPS

bp = Blueprint("notices", __name__, url_prefix="/notices")
verify_bp = Blueprint("verify", __name__)

READERS = (Role.MAINTAINER, Role.INSPECTOR, Role.TASKFORCE)
PRINTERS = (Role.MAINTAINER, Role.INSPECTOR)


ACTION_LABELS = {"issue": "出具", "serve": "送达", "acknowledge": "签收", "complete": "办结", "overdue": "逾期",
                 "void": "作废", "print": "打印"}
DETAIL_LABELS = {"assets": "设备", "snapshot_id": "名单快照", "served_on": "送达日期", "recipient": "签收人",
                 "note": "备注", "kind": "凭证类型", "reference": "凭证编号", "replacement_asset_id": "更新设备",
                 "reason": "原因", "deadline": "期限", "as_of": "判断日期"}


def history(notice: Notice) -> list[dict]:
    """Return the notice's events formatted for people: local time, Chinese labels, names."""
    from datetime import timezone
    from zoneinfo import ZoneInfo
    from registry.accounts.models import User
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    rows = []
    for e in notice.events:
        user = db.session.get(User, e.user_id) if e.user_id else None
        details = "；".join(f"{DETAIL_LABELS.get(k, k)}：{'、'.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in (e.details or {}).items() if v not in (None, "", []))
        if e.details and e.details.get("kind"):
            from registry.enums import CompletionKind as CK
            details = details.replace(e.details["kind"], CK(e.details["kind"]).label)
        at = e.at if e.at.tzinfo else e.at.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
        rows.append({"at": at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                     "action": ACTION_LABELS.get(e.action, e.action),
                     "change": f"{e.from_status.label if e.from_status else ''} → {e.to_status.label if e.to_status else ''}",
                     "user": user.display_name if user else "系统", "details": details})
    return rows


@bp.route("/")
@roles_required(*READERS)
def index():
    """List the notices the user may read, filtered by status and township."""
    status = forms.parse_status(request.args.get("status"))
    township = request.args.get("township") or None
    notices = find_notices(current_user, status=status, township=township, limit=500)
    categories = sorted(current_user.department.category_values) if current_user.department else []
    return render_template("notices/index.html", notices=notices, status=status, township=township,
                           statuses=NoticeStatus, townships=TOWNSHIPS,
                           categories=[Category(c) for c in categories])


@bp.route("/<int:notice_id>")
@roles_required(*READERS)
def detail(notice_id: int):
    """Show one notice, its assets, its history and the actions the user may take."""
    notice = get_notice(notice_id, current_user)
    return render_template("notices/detail.html", notice=notice, kinds=CompletionKind, events=history(notice))


@bp.route("/<int:notice_id>/pdf")
@roles_required(*READERS)
def pdf(notice_id: int):
    """Send the stored PDF (byte-identical on every download)."""
    from registry.notices.printing import pdf_response
    notice = get_notice(notice_id, current_user)
    response = pdf_response(notice)
    record_download(notice, current_user)
    return response


def _act(notice_id: int, action, ok_message: str):
    """Run one lifecycle action; on a domain error show the page again with the message and its 4xx."""
    notice = get_notice(notice_id, current_user)
    try:
        action(notice)
    except DomainError as exc:
        db.session.rollback()
        notice = get_notice(notice_id, current_user)
        return render_template("notices/detail.html", notice=notice, kinds=CompletionKind, events=history(notice),
                               error=exc), exc.status
    flash(ok_message.format(number=notice.number), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/<int:notice_id>/serve", methods=["POST"])
@roles_required(Role.INSPECTOR)
def serve(notice_id: int):
    """Record service: date and recipient."""
    f = request.form
    return _act(notice_id, lambda n: lifecycle.serve(
        n, current_user, forms.parse_date(f.get("served_on"), "served_on", "送达日期"), f.get("recipient")),
        "通知书 {number} 已登记送达")


@bp.route("/<int:notice_id>/acknowledge", methods=["POST"])
@roles_required(Role.INSPECTOR)
def acknowledge(notice_id: int):
    """Record the owner unit's acknowledgement."""
    return _act(notice_id, lambda n: lifecycle.acknowledge(n, current_user, request.form.get("note")),
               "通知书 {number} 已登记签收")


@bp.route("/<int:notice_id>/complete", methods=["POST"])
@roles_required(Role.INSPECTOR)
def complete(notice_id: int):
    """Close the notice with disposal evidence."""
    f = request.form
    return _act(notice_id, lambda n: lifecycle.complete(
        n, current_user, f.get("kind"), f.get("reference"), f.get("replacement_code")), "通知书 {number} 已办结")


@bp.route("/<int:notice_id>/void", methods=["POST"])
@roles_required(Role.MAINTAINER)
def void(notice_id: int):
    """Void the notice with a reason (it keeps its number)."""
    return _act(notice_id, lambda n: lifecycle.void(n, current_user, request.form.get("reason")),
               "通知书 {number} 已作废")


@bp.route("/issue", methods=["POST"])
@roles_required(Role.MAINTAINER)
def issue():
    """Issue notices for the maintainer's department from the latest evaluation's mandatory findings."""
    from registry.notices.sources import issue_from_findings
    f = request.form
    try:
        notices = issue_from_findings(current_user, township=f.get("township") or None,
                                      category=f.get("category") or None,
                                      as_of=forms.parse_date(f.get("as_of"), "as_of", "评估日期", required=False))
    except DomainError as exc:
        db.session.rollback()
        details = "；".join(f"{k}：{'；'.join(v)}" for k, v in exc.errors.items()) if isinstance(exc.errors, dict) else ""
        flash(exc.message + (f"（{details}）" if details else ""), "error")
        return redirect(url_for("notices.index")), 303
    flash(f"已出具 {len(notices)} 份通知书：" + "、".join(n.number for n in notices[:10])
          + ("……" if len(notices) > 10 else ""), "success")
    return redirect(url_for("notices.index", status="issued"))


@bp.route("/print", methods=["POST"])
@roles_required(*PRINTERS)
def print_batch():
    """Merge the filtered notices into one PDF ordered by township, for printing a route."""
    from registry.notices.printing import print_batch as merge
    status = forms.parse_status(request.form.get("status")) or NoticeStatus.ISSUED
    notices = find_notices(current_user, status=status, township=request.form.get("township") or None,
                           unprinted=request.form.get("unprinted") == "1")
    data = merge(notices, current_user)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": "attachment; filename=notices-batch.pdf"})


@bp.route("/templates", methods=["GET", "POST"])
@roles_required(Role.TASKFORCE)
def templates():
    """Edit the body template of each mandatory outcome (validated placeholders)."""
    errors = None
    if request.method == "POST":
        outcome = forms.parse_outcome(request.form.get("outcome"))
        try:
            texts.save_template(outcome, request.form.get("title", ""), request.form.get("body", ""), current_user)
            flash(f"“{outcome.label}”通知书模板已保存", "success")
            return redirect(url_for("notices.templates"))
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message, "error")
            errors = (outcome, exc.errors, request.form.get("title", ""), request.form.get("body", ""))
    items = [texts.get_template(o) for o in sorted(MANDATORY_OUTCOMES, key=lambda o: o.value)]
    db.session.commit()
    return render_template("notices/templates.html", templates=items, placeholders=texts.PLACEHOLDERS,
                           failed=errors), (422 if errors else 200)


@bp.route("/seal", methods=["GET", "POST"])
@roles_required(Role.MAINTAINER)
def seal():
    """Upload the department's seal image (placed on notices issued afterwards)."""
    dept = current_user.department
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            seals.upload_seal(dept, upload.read() if upload else b"", current_user)
            flash("印章已上传，此后出具的通知书将加盖此印章", "success")
            return redirect(url_for("notices.seal"))
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message + "：" + "；".join(m for v in exc.errors.values() for m in v), "error")
            return render_template("notices/seal.html", seal=seals.active_seal(dept.id)), 422
    return render_template("notices/seal.html", seal=seals.active_seal(dept.id) if dept else None)


@bp.route("/seal/image")
@roles_required(Role.MAINTAINER)
def seal_image():
    """Show the department's current seal image."""
    from registry.errors import NotFound
    from registry.notices.storage import seal_file
    path = seal_file(seals.active_seal(current_user.department_id)) if current_user.department_id else None
    if path is None:
        raise NotFound("尚未上传印章")
    return Response(path.read_bytes(), mimetype="image/png")


@verify_bp.route("/verify/<token>")
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])
def verify_notice(token: str):
    """Public page: is this notice genuine? Shows number, department, status and asset names only."""
    from sqlalchemy import select
    notice = db.session.scalar(select(Notice).where(Notice.token == token)) if len(token) <= 64 else None
    return render_template("notices/verify.html", notice=notice), (200 if notice else 404)
