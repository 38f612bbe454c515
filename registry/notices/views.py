"""HTML pages: notice list and detail, lifecycle forms, batch printing, templates, seal; public verification."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.accounts.services import users_by_id
from registry.db_types import as_id
from registry.downloads import send_bytes
from registry.enums import Category, CompletionKind, NoticeStatus, Role
from registry.errors import DomainError, NotFound, ValidationFailed
from registry.extensions import limiter
from registry.notices import forms, lifecycle, queries, seals, texts
from registry.notices.documents import full_date
from registry.notices.models import Notice
from registry.notices.batch import INLINE_PRINT_MAX, finished_print, queue_print
from registry.notices.batch import print_batch as merge
from registry.notices.printing import render_notice
from registry.notices.services import (
    discard_draft,
    download_pdf,
    find_notices,
    get_notice,
    notice_by_token,
    sign_notices,
)
from registry.notices.sources import draft_for_asset as make_draft
from registry.notices.sources import draft_from_findings
from registry.notices.storage import batch_file, seal_file
from registry.orgs.reference import TOWNSHIPS
from registry.orgs.services import all_departments
from registry.pages import done

bp = Blueprint("notices", __name__, url_prefix="/notices")
verify_bp = Blueprint("verify", __name__)

READERS = (Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD, Role.TASKFORCE)
PRINTERS = (Role.MAINTAINER, Role.INSPECTOR)
DRAFTERS = (Role.MAINTAINER, Role.INSPECTOR)
DISCARDERS = (Role.DEPT_HEAD, Role.MAINTAINER)


ACTION_LABELS = {"draft": "拟稿", "sign": "签发", "discard": "撤稿", "supersede": "被替代", "issue": "出具",
                 "serve": "送达", "acknowledge": "签收", "complete": "办结", "overdue": "逾期", "void": "作废",
                 "print": "打印"}
DETAIL_LABELS = {"assets": "设备", "snapshot_id": "名单快照", "served_on": "送达日期", "recipient": "签收人",
                 "note": "备注", "kind": "凭证类型", "reference": "凭证编号", "replacement_asset_id": "更新设备",
                 "reason": "原因", "deadline": "期限", "as_of": "判断日期", "issued_on": "发文日期"}


def history(notice: Notice) -> list[dict]:
    """Return the notice's events formatted for people: local time, Chinese labels, names."""
    users = users_by_id({e.user_id for e in notice.events if e.user_id})
    rows = []
    for e in notice.events:
        user = users.get(e.user_id)
        details = "；".join(f"{DETAIL_LABELS.get(k, k)}：{'、'.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in (e.details or {}).items() if v not in (None, "", []))
        if e.details and e.details.get("kind"):
            from registry.enums import CompletionKind as CK
            details = details.replace(e.details["kind"], CK(e.details["kind"]).label)
        rows.append({"at": clock.to_local(e.at).strftime("%Y-%m-%d %H:%M"),
                     "action": ACTION_LABELS.get(e.action, e.action),
                     "change": f"{e.from_status.label if e.from_status else ''} → {e.to_status.label if e.to_status else ''}",
                     "user": user.display_name if user else "系统", "details": details})
    return rows


@bp.route("/")
@roles_required(*READERS)
def index():
    """List the notices the user may read, newest first, filtered and keyset-paged; drafts can be signed here."""
    try:
        filters = queries.parse_filters(request.args)
        page = queries.list_notices(filters, current_user, request.args.get("cursor"))
        error = None
    except ValidationFailed as exc:
        filters, page, error = queries.NoticeFilters(), None, exc
    categories = sorted(current_user.department.category_values) if current_user.department else []
    departments = all_departments()
    body = render_template("notices/index.html", page=page, filters=filters, error=error,
                           statuses=NoticeStatus, townships=TOWNSHIPS, departments=departments,
                           categories=[Category(c) for c in categories], inline_print_max=INLINE_PRINT_MAX)
    return body, (error.status if error else 200)


@bp.route("/<int:notice_id>")
@roles_required(*READERS)
def detail(notice_id: int):
    """Show one notice, its assets, its history and the actions the user may take."""
    notice = get_notice(notice_id, current_user)
    return render_template("notices/detail.html", notice=notice, kinds=CompletionKind, events=history(notice), today=clock.today())


@bp.route("/<int:notice_id>/pdf")
@roles_required(*READERS)
def pdf(notice_id: int):
    """Send the stored PDF (byte-identical on every download)."""
    return download_pdf(notice_id, current_user)


def _act(notice_id: int, action, ok_message: str, read_form=lambda form: ()):
    """Run `action(notice, user, *read_form(request.form))`; on a domain error show the page again with its 4xx."""
    notice = get_notice(notice_id, current_user)
    try:
        action(notice, current_user, *read_form(request.form))
    except DomainError as exc:
        notice = get_notice(notice_id, current_user)
        return render_template("notices/detail.html", notice=notice, kinds=CompletionKind, events=history(notice), today=clock.today(),
                               error=exc), exc.status
    return done(ok_message.format(number=notice.label), "notices.detail", notice_id=notice_id)


# The lifecycle steps posted from a notice's page: the step (its URL tail, endpoint and `lifecycle` function), who
# may take it, the message on success, and what it reads from the form.
_STEPS = (
    ("serve", (Role.INSPECTOR,), "通知书 {number} 已登记送达",
     lambda f: (forms.parse_date(f.get("served_on"), "served_on", "送达日期"), f.get("recipient"))),
    ("acknowledge", (Role.INSPECTOR,), "通知书 {number} 已登记签收", lambda f: (f.get("note"),)),
    ("complete", (Role.INSPECTOR,), "通知书 {number} 已办结",
     lambda f: (f.get("kind"), f.get("reference"), f.get("replacement_code"))),
    ("void", (Role.MAINTAINER,), "通知书 {number} 已作废", lambda f: (f.get("reason"),)),
)


def _step_view(step: str, ok_message: str, read_form):
    """Return the view that takes lifecycle step `step` on the notice in the URL."""
    def view(notice_id: int):
        return _act(notice_id, getattr(lifecycle, step), ok_message, read_form)

    view.__name__ = step  # tracebacks and the URL map name the step
    return view


for _step, _roles, _message, _read_form in _STEPS:
    bp.add_url_rule(f"/<int:notice_id>/{_step}", _step,
                    roles_required(*_roles)(_step_view(_step, _message, _read_form)), methods=["POST"])


@bp.route("/issue", methods=["POST"])
@roles_required(Role.MAINTAINER)
def issue():
    """Draft notices (拟稿) for the maintainer's department from the latest evaluation's mandatory findings."""
    f = request.form
    try:
        drafts = draft_from_findings(current_user, township=f.get("township") or None,
                                     category=f.get("category") or None,
                                     as_of=forms.parse_date(f.get("as_of"), "as_of", "评估日期", required=False))
    except DomainError as exc:
        flash(_message(exc), "error")
        return redirect(url_for("notices.index")), 303
    return done(f"已拟稿 {len(drafts)} 份通知书，待部门负责人审核签发（签发时编号）", "notices.index", status="draft")


def _message(exc: DomainError) -> str:
    details = "；".join(f"{k}：{'；'.join(v)}" for k, v in exc.errors.items()) if isinstance(exc.errors, dict) else ""
    return exc.message + (f"（{details}）" if details else "")


@bp.route("/from-asset/<int:asset_id>", methods=["POST"])
@roles_required(*DRAFTERS)
def draft_for_asset(asset_id: int):
    """出具通知书 on the asset page: evaluate the asset now and draft its notice, then show the draft."""
    try:
        draft = make_draft(current_user, asset_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_message(exc), "error")
        return redirect(url_for("assets.detail", asset_id=asset_id)), 303
    flash(f"已拟稿 {draft.label}，请预览并提交部门负责人签发", "success")
    return redirect(url_for("notices.detail", notice_id=draft.id)), 303


@bp.route("/<int:notice_id>/preview")
@roles_required(*READERS)
def preview(notice_id: int):
    """Show the PDF as it would be signed (a draft carries 拟稿 in place of its number), rendered on the fly."""
    notice = get_notice(notice_id, current_user)
    return send_bytes(render_notice(notice), f"preview-{notice.id}.pdf", inline=True,
                      headers={"Cache-Control": "no-store"})


@bp.route("/sign", methods=["POST"])
@roles_required(Role.DEPT_HEAD)
def sign():
    """Sign the chosen drafts (签发), all or none: each takes the department's next number."""
    raw = request.form.getlist("ids")
    ids = [as_id(r) for r in raw]
    back = request.form.get("back") or url_for("notices.index", status="draft")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("notices.index", status="draft")
    try:
        if any(i is None for i in ids):
            raise ValidationFailed("拟稿编号无效", {"ids": ["拟稿编号应为正整数"]})
        issued_on = forms.parse_date(request.form.get("issued_on"), "issued_on", "发文日期", required=False)
        signed = sign_notices(ids, current_user, issued_on=issued_on)
    except DomainError as exc:
        flash(_message(exc), "error")
        return redirect(back), 303
    flash(f"已签发 {len(signed)} 份通知书：" + "、".join(n.number for n in signed[:10])
          + ("……" if len(signed) > 10 else ""), "success")
    return redirect(url_for("notices.detail", notice_id=signed[0].id) if len(signed) == 1
                    else url_for("notices.index", status="issued")), 303


@bp.route("/<int:notice_id>/discard", methods=["POST"])
@roles_required(*DISCARDERS)
def discard(notice_id: int):
    """Discard a draft with a reason (撤稿); no number is used."""
    return _act(notice_id, discard_draft, "拟稿 {number} 已撤稿", lambda f: (f.get("reason"),))


@bp.route("/print", methods=["POST"])
@roles_required(*PRINTERS)
def print_batch():
    """Merge the filtered notices into one PDF ordered by township, for printing a route (large batches: in the worker)."""
    status = forms.parse_status(request.form.get("status")) or NoticeStatus.ISSUED
    notices = find_notices(current_user, status=status, township=request.form.get("township") or None,
                           unprinted=request.form.get("unprinted") == "1", signed=True)
    if len(notices) > INLINE_PRINT_MAX:
        task = queue_print(notices, current_user)
        return redirect(url_for("tasks.show", task_id=task.id)), 303
    return send_bytes(merge(notices, current_user), "notices-batch.pdf")


@bp.route("/print/<int:task_id>")
@roles_required(*PRINTERS)
def print_result(task_id: int):
    """Show a finished background batch print with its download."""
    task = finished_print(current_user, task_id)
    return render_template("notices/print_result.html", task=task, ready=batch_file(task.id) is not None)


@bp.route("/print/<int:task_id>.pdf")
@roles_required(*PRINTERS)
def print_file(task_id: int):
    """Download the merged PDF of one's own background batch print (kept 7 days)."""
    path = batch_file(finished_print(current_user, task_id).id)
    if path is None:
        raise NotFound("合并打印文件已过期（保留 7 天），请重新打印")
    return send_bytes(path.read_bytes(), "notices-batch.pdf")


@bp.route("/templates", methods=["GET", "POST"])
@roles_required(Role.TASKFORCE)
def templates():
    """Edit the body template of each mandatory outcome (validated placeholders)."""
    errors = None
    if request.method == "POST":
        outcome = forms.parse_outcome(request.form.get("outcome"))
        try:
            texts.save_template(outcome, request.form.get("title", ""), request.form.get("body", ""), current_user)
            return done(f"“{outcome.label}”通知书模板已保存", "notices.templates")
        except ValidationFailed as exc:
            flash(exc.message, "error")
            errors = (outcome, exc.errors, request.form.get("title", ""), request.form.get("body", ""))
    return render_template("notices/templates.html", templates=texts.all_templates(), placeholders=texts.PLACEHOLDERS,
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
            return done("印章已上传，此后出具的通知书将加盖此印章", "notices.seal")
        except ValidationFailed as exc:
            flash(exc.message + "：" + "；".join(m for v in exc.errors.values() for m in v), "error")
            return render_template("notices/seal.html", seal=seals.active_seal(dept.id)), 422
    return render_template("notices/seal.html", seal=seals.active_seal(dept.id) if dept else None)


@bp.route("/seal/image")
@roles_required(Role.MAINTAINER)
def seal_image():
    """Show the department's current seal image."""
    path = seal_file(seals.active_seal(current_user.department_id)) if current_user.department_id else None
    if path is None:
        raise NotFound("尚未上传印章")
    return Response(path.read_bytes(), mimetype="image/png")


@verify_bp.route("/verify/<token>")
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])
def verify_notice(token: str):
    """Public page: is this notice genuine? Number, department, date, addressee, deadline, status, asset names."""
    notice = notice_by_token(token)
    return render_template("notices/verify.html", notice=notice, full_date=full_date), (200 if notice else 404)
