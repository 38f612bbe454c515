"""Pages for Excel transfer: template download, upload with error report, and export."""
from __future__ import annotations

import io
import json

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import editable_categories
from registry.assets.filters import limits, parse_filters
from registry.db_types import MAX_ID, as_id
from registry.enums import Category, Role
from registry.errors import DomainError, NotFound
from registry.inputs import query_int
from registry.orgs.reference import TOWNSHIPS
from registry.tasks import services as tasks
from registry.transfer import excel, exports, ledger, mapping as mp, profiles, services, stored
from registry.transfer.jobs import IMPORT_TASK
from registry.transfer.upload import ImportRejected, LayoutMismatch, TooLarge

bp = Blueprint("transfer", __name__, url_prefix="/assets")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page_context() -> dict:
    readable = list(Category)
    return {"categories": readable, "editable": editable_categories(current_user), "townships": TOWNSHIPS,
            "can_import": current_user.role is Role.MAINTAINER, "limits": limits()}


@bp.route("/transfer")
@roles_required(*BUSINESS_READERS)
def index():
    """Show template downloads, the upload form and the export form."""
    return render_template("transfer/index.html", **_page_context())


@bp.route("/templates/<category>.xlsx")
@roles_required(*BUSINESS_READERS)
def template(category: str):
    """Download the import template of one category."""
    try:
        cat = Category(category)
    except ValueError:
        abort(404)
    data = excel.build_template(cat)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"{cat.label}导入模板.xlsx")


def _read_upload():
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        raise TooLarge(f"上传文件超过 {limit} MB 的大小上限，请拆分后分批导入") from None
    if upload is None or not upload.filename:
        raise ImportRejected("请选择要导入的 .xlsx 或 .csv 文件")
    return upload.filename, upload.read()


def _in_background(size: int) -> bool:
    """Tell whether an upload of `size` bytes is checked by the worker (with a progress bar)."""
    return size > current_app.config["IMPORT_INLINE_BYTES"]


def _queue(step: str, token: str, filename: str, form: dict):
    """Hand one import step to the worker and show its progress page."""
    titles = {"template": "导入", "preview": "导入预览（校验）", "confirm": "确认导入（写入）"}
    task = tasks.submit(IMPORT_TASK, current_user, {"step": step, "token": token, "form": form},
                        f"{titles[step]}：{filename}")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.route("/import", methods=["POST"])
@roles_required(Role.MAINTAINER)
def import_upload():
    """Import a registry template at once; any other ledger goes on to the column-mapping page."""
    filename = "?"
    try:
        filename, data = _read_upload()
        raw_category = request.form.get("category", "")
        category = services.parse_category(raw_category)
    except ImportRejected as exc:
        return _show(services.refused(exc, filename, current_user))
    if _in_background(len(data)):
        token = stored.save(data, filename, current_user.id, ".upload", category=raw_category, size=len(data))
        return _queue("template", token, filename, {"category": raw_category})
    try:
        outcome = services.import_template(data, filename, current_user, category)
    except LayoutMismatch:
        token = stored.save(data, filename, current_user.id, ".upload", category=raw_category, size=len(data))
        return redirect(url_for("transfer.import_mapping", token=token))
    return _show(outcome)


def _show(outcome: dict):
    """Render an import step's outcome (from the request or from a finished task) with its status."""
    if outcome["page"] == "preview":
        return render_template("transfer/preview.html", o=outcome), 422 if outcome["error_count"] else 200
    status = outcome.get("status") or (200 if outcome.get("ok") else 422)
    return render_template("transfer/result.html", o=outcome, **_page_context()), status


@bp.route("/import/outcome/<int:task_id>")
@roles_required(Role.MAINTAINER)
def import_outcome(task_id: int):
    """Show what one's own background import step found or did."""
    task = tasks.task_for(current_user, task_id)
    outcome = (task.result or {}).get("outcome")
    if task.kind != IMPORT_TASK or outcome is None:
        raise NotFound("这项任务没有导入结果")
    if outcome["page"] == "mapping":  # the page comes back with the user's own choices, not the suggestions
        return redirect(url_for("transfer.import_mapping", token=(task.payload or {}).get("token", ""),
                                task=task.id if "mapping" in outcome else None))
    return _show(outcome)


def _meta_name(token: str) -> str:
    return stored.meta_of(token, current_user.id)["filename"]


@bp.route("/import/<token>/mapping", methods=["GET"])
@roles_required(Role.MAINTAINER)
def import_mapping(token: str):
    """Show the table found and the suggested mapping of every column and value, to confirm or change."""
    try:
        choices, edited = request.args.to_dict(), None
        task_id = query_int("task", "任务", 1, MAX_ID)
        if task_id:  # a background step found a problem with the mapping: show what the user had chosen
            task = tasks.task_for(current_user, task_id)
            outcome = (task.result or {}).get("outcome") or {}
            payload = task.payload or {}
            if task.kind != IMPORT_TASK or payload.get("token") != token or "mapping" not in outcome:
                raise NotFound("这项任务没有待修改的映射")
            form = payload.get("form") or {}
            choices = {k: form[k] for k in ("sheet", "category", "keep_hidden") if form.get(k)}
            edited = outcome["mapping"]
        analysis, meta = services.analyse_upload(token, current_user, choices)
        profile_id = query_int("profile", "导入配置", 1, MAX_ID)
        if profile_id:
            profile = profiles.get_profile(profile_id, current_user.department_id)
            if profile is None:
                abort(404)
            analysis.mapping = ledger.merge_profile(analysis.mapping, profile.mapping)
            analysis.profile = profile
    except ledger.SheetChoiceNeeded as exc:
        return render_template("transfer/sheets.html", token=token, sheets=exc.sheets, filename=_meta_name(token))
    except ImportRejected as exc:
        return _show(services.refused(exc, _meta_name(token), current_user))
    return _render_mapping(token, analysis, edited or analysis.mapping)


def _render_mapping(token, analysis, mapping, status=200):
    cat = analysis.category
    specs = mp.specs_by_name(cat)
    stats = mp.value_stats(analysis.table, cat, mapping)
    values = []
    for name, counts in stats.items():
        spec = specs[name]
        for raw, n in counts.most_common():
            label, conf = mp.suggest_value(spec, raw)
            chosen = mapping.get("values", {}).get(name, {}).get(raw) or label
            values.append((name, spec.label, raw, n, chosen, conf, spec.enum.labels()))
    used = set(mapping["columns"].values()) | set(mapping.get("set", {})) | set(mapping.get("copy", {}))
    if "floors_stops" in used:
        used |= {"floors", "stops"}
    missing = [s for s in specs.values() if s.required and s.name not in used and s.name not in mp.GENERATED]
    return render_template(
        "transfer/mapping.html", token=token, a=analysis, mapping=mapping, targets=mp.target_choices(cat),
        values=values, missing=missing, policies=mp.PARTIAL_DATE_POLICIES, generated=mp.GENERATED,
        problems=mp.check_mapping(analysis.table, cat, mapping), categories=[c for c in Category
                                                                             if c.value in editable_categories(current_user)],
        profiles=profiles.department_profiles(current_user.department_id), filename=analysis.filename,
        keep_hidden=analysis.keep_hidden), status


def _ledger_step(step: str, token: str):
    """Run a preview or confirm step: in the request for a small upload, else by the worker."""
    form = request.form.to_dict()
    meta = stored.meta_of(token, current_user.id)
    if _in_background(int(meta.get("size") or 0)):
        return _queue(step, token, meta["filename"], form)
    run = services.preview_ledger if step == "preview" else services.confirm_ledger
    outcome = run(token, current_user, form)
    if outcome["page"] == "mapping":  # the mapping has a problem: show the page again with it
        analysis, _ = services.analyse_upload(token, current_user, form)
        return _render_mapping(token, analysis, outcome["mapping"], 422)
    return _show(outcome)


@bp.route("/import/<token>/preview", methods=["POST"])
@roles_required(Role.MAINTAINER)
def import_preview(token: str):
    """Check the whole file under the chosen mapping and show what would be stored; write nothing."""
    return _ledger_step("preview", token)


@bp.route("/import/<token>/confirm", methods=["POST"])
@roles_required(Role.MAINTAINER)
def import_confirm(token: str):
    """Write the previewed file in one transaction (or nothing), and save the mapping as a profile if asked."""
    return _ledger_step("confirm", token)


# --- mapping profiles ------------------------------------------------------------------------
PROFILE_MAX_BYTES = 1024 * 1024


def _profiles_page(error: DomainError | None = None, notice: str = ""):
    items = [(p, len(p.mapping.get("header", []))) for p in profiles.department_profiles(current_user.department_id)]
    return render_template("transfer/profiles.html", items=items, error=error, notice=notice,
                           department=current_user.department), (error.status if error else 200)


@bp.route("/import/profiles")
@roles_required(Role.MAINTAINER)
def profile_list():
    """List the department's mapping profiles with download, replace, rename and delete."""
    return _profiles_page(notice=request.args.get("done", "")[:80])


@bp.route("/import/profiles/<int:profile_id>.json")
@roles_required(Role.MAINTAINER)
def profile_download(profile_id: int):
    """Download one of the department's profiles as JSON."""
    profile = profiles.get_profile(profile_id, current_user.department_id)
    if profile is None:
        abort(404)
    body = json.dumps(profiles.export_profile(profile), ensure_ascii=False, indent=2).encode("utf-8")
    return send_file(io.BytesIO(body), mimetype="application/json", as_attachment=True,
                     download_name=f"映射方案-{profile.name}.json")


def _read_profile_json() -> dict:
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise ImportRejected("映射方案文件过大") from None
    if upload is None or not upload.filename:
        raise ImportRejected("请选择映射方案文件（.json）")
    data = upload.read(PROFILE_MAX_BYTES + 1)
    if len(data) > PROFILE_MAX_BYTES:
        raise ImportRejected("映射方案文件超过 1 MB，不像是映射方案")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ImportRejected("映射方案文件不是有效的 JSON（UTF-8）") from None


def _change_profiles(change, done):
    """Run `change()`; on a domain error show the profiles page with it, else go back there saying `done(result)`."""
    try:
        result = change()
    except DomainError as exc:
        return _profiles_page(exc)
    return redirect(url_for("transfer.profile_list", done=done(result)))


def _upload_profile(replace_id: int | None):
    department = current_user.department
    if department is None:
        raise ImportRejected("您的账号没有所属部门，不能保存映射方案")
    return profiles.import_profile(_read_profile_json(), department.code, current_user, replace_id=replace_id)


@bp.route("/import/profiles/upload", methods=["POST"])
@roles_required(Role.MAINTAINER)
def profile_upload():
    """Save an uploaded profile JSON as a new profile, or replace the chosen (or same-named) one."""
    replace_id = as_id(request.form.get("replace", "")) if request.form.get("replace") else None
    return _change_profiles(lambda: _upload_profile(replace_id), lambda profile: f"已保存映射方案「{profile.name}」")


@bp.route("/import/profiles/<int:profile_id>/rename", methods=["POST"])
@roles_required(Role.MAINTAINER)
def profile_rename(profile_id: int):
    """Rename one of the department's profiles."""
    return _change_profiles(lambda: profiles.rename_profile(profile_id, current_user.department_id,
                                                            request.form.get("name", ""), current_user),
                            lambda profile: f"已改名为「{profile.name}」")


@bp.route("/import/profiles/<int:profile_id>/delete", methods=["POST"])
@roles_required(Role.MAINTAINER)
def profile_delete(profile_id: int):
    """Retire one of the department's profiles (kept, no longer applied)."""
    return _change_profiles(lambda: profiles.delete_profile(profile_id, current_user.department_id, current_user),
                            lambda _: "已删除映射方案")


@bp.route("/import/report/<token>")
@roles_required(Role.MAINTAINER)
def import_report(token: str):
    """Download the marked-up copy of one's own rejected upload."""
    path, meta = stored.path_of(token, current_user.id, ".xlsx")
    stem = (meta.get("filename") or "导入").rsplit(".", 1)[0]
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=f"{stem}-错误标注.xlsx")


@bp.route("/export")
@roles_required(*BUSINESS_READERS)
def export():
    """Download the filtered list (same filters as the list page) as an .xlsx 台账."""
    filters = parse_filters(request.args)
    fh, _count = exports.export_to_tempfile(filters, current_user, via="web")
    return send_file(fh, mimetype=XLSX, as_attachment=True,
                     download_name=exports.export_filename(filters.category))

