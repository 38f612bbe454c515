"""Inventory web pages: list per category, detail with history, create/edit, bulk edit, assessments."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from registry import clock
from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import can_edit_asset, editable_categories, kept_categories
from registry.assets import assessments, labels, queries, services
from registry.assets.filters import (
    FINDING_KINDS, SORTS, AssetFilters, findings_provider, missing_fields, parse_filters,
)
from registry.assets.fields import fields_for
from registry.assets.forms import CsrfForm, asset_form_values, field_groups
from registry.assets.history import display_value, history, history_value, label_for, spec_value
from registry.api_base import load_or_fail
from registry.assets.schemas import AssetCreateSchema, AssetPatchSchema, form_to_input, load_patch
from registry.db_types import as_id
from registry.downloads import send_bytes
from registry.enums import Category, Role
from registry.errors import Conflict, ValidationFailed
from registry.orgs.reference import DEPARTMENTS, TOWNSHIPS
from registry.pages import done

bp = Blueprint("assets", __name__, url_prefix="/assets")
MAINTAINERS = (Role.MAINTAINER,)
# The rules engine registers `app.extensions[FINDINGS_EXTENSION] = callable(asset) -> list[FindingResult]`.
FINDINGS_EXTENSION = "registry.asset_findings"
# The disposals domain registers `app.extensions[RECORDS_EXTENSION] = callable(asset) -> dict` for the 处置与更新 section.
RECORDS_EXTENSION = "registry.asset_records"


def _category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError:
        abort(404)


def _age_years(row, today=None) -> int | None:
    start = queries.age_start(row)
    if start is None:
        return None
    today = today or clock.today()
    return today.year - start.year - ((today.month, today.day) < (start.month, start.day))


@bp.route("/")
@roles_required(*BUSINESS_READERS)
def index():
    """Open the first category the user's department keeps."""
    first = next(iter(kept_categories(current_user)), Category.ELEVATOR)
    return redirect(url_for("assets.list_assets", category=first.value))


@bp.route("/c/<category>")
@roles_required(*BUSINESS_READERS)
def list_assets(category: str):
    """List one category's assets with filters, sorting and keyset pagination."""
    cat = _category(category)
    errors, count, status = {}, None, 200
    try:
        filters = parse_filters(request.args, cat)
        page = queries.list_assets(filters, current_user, request.args.get("cursor"), summary=True)
        if request.args.get("count"):
            count = queries.count_assets(filters, current_user)
    except ValidationFailed as exc:
        filters, page, errors, status = AssetFilters(category=cat), queries.Page([], None, None), exc.errors, 400
    stale_days = current_app.config["CONDITION_STALE_DAYS"]
    provider = findings_provider()
    findings = provider.summaries([a.id for a in page.items], cat) if provider else {}
    today = clock.today()  # once: per-row clock reads cost more than the rest of the row
    rows = [(a, queries.age_start(a), _age_years(a, today),
             assessments.is_grade_stale(a, as_of=today, stale_days=stale_days), findings.get(a.id, []))
            for a in page.items]  # computed here: per-row calls inside Jinja cost more than the query
    tabs = kept_categories(current_user)
    if cat not in tabs:  # reached by a link: show its tab too, after the department's own
        tabs = [*tabs, cat]
    return render_template("assets/list.html", category=cat, filters=filters, page=page, rows=rows, errors=errors,
                           tabs=tabs, finding_kinds=FINDING_KINDS, missing_fields=missing_fields(cat),
                           show_findings=provider is not None,
                           count=count, args=request.args, townships=TOWNSHIPS, departments=DEPARTMENTS,
                           sorts=SORTS, detail_prefix=url_for("assets.detail", asset_id=0)[:-1],
                           can_edit=cat.value in editable_categories(current_user),
                           label_layouts=labels.LAYOUTS, max_labels=labels.MAX_LABELS), status


@bp.route("/c/<category>/new", methods=["GET", "POST"])
@roles_required(*MAINTAINERS)
def create(category: str):
    """Show and handle the new-asset form."""
    cat = _category(category)
    if cat.value not in editable_categories(current_user):
        services.create_asset(cat, {}, current_user)  # raises 403 and audits the refusal
    form, errors, values = CsrfForm(), {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        if form.validate_on_submit():
            try:
                data = load_or_fail(AssetCreateSchema(), form_to_input(cat, request.form, partial=False))
                asset = services.create_asset(cat, data, current_user)
                return done(f"已登记设备 {asset.code}", "assets.detail", asset_id=asset.id)
            except ValidationFailed as exc:
                errors = exc.errors
        else:
            errors = {"_schema": ["表单已过期，请重新提交"]}
    return render_template("assets/form.html", category=cat, groups=field_groups(cat), values=values,
                           errors=errors, form=form, asset=None, townships_list=TOWNSHIPS), (422 if errors else 200)


@bp.route("/<int:asset_id>")
@roles_required(*BUSINESS_READERS)
def detail(asset_id: int):
    """Show every attribute, assessments, findings (when given) and the full change history."""
    asset = services.get_readable(asset_id, current_user)
    rows = [(s, display_value(spec_value(asset, s))) for s in fields_for(asset.category)]
    return render_template("assets/detail.html", asset=asset, rows=rows, history=history(asset.id),
                           label_for=label_for, history_value=history_value, action_labels=services.ACTION_LABELS,
                           assessments=assessments.assessments_for(asset.id),
                           stale=assessments.is_grade_stale(asset), can_edit=can_edit_asset(current_user, asset),
                           can_assess=current_user.role is Role.INSPECTOR, form=CsrfForm(),
                           findings=_findings(asset), records=_records(asset))


def _records(asset):
    """Return the asset's disposal and replacement records when the disposals domain registered them, else None."""
    provider = current_app.extensions.get(RECORDS_EXTENSION)
    return provider(asset) if provider else None


def _findings(asset):
    """Return the rule findings for `asset` when a rules engine registered a provider, else None (no block)."""
    provider = current_app.extensions.get(FINDINGS_EXTENSION)
    return provider(asset) if provider else None


@bp.route("/<int:asset_id>/edit", methods=["GET", "POST"])
@roles_required(*MAINTAINERS)
def edit(asset_id: int):
    """Show and handle the edit form; a stale version is refused (409) and nothing changes."""
    asset = services.get_editable(asset_id, current_user)
    form, errors, status = CsrfForm(), {}, 200
    values, version = asset_form_values(asset), asset.version
    if request.method == "POST":
        values = request.form.to_dict()
        version = as_id(request.form.get("version", "").strip())
        version = -1 if version is None else version
        try:
            if not form.validate_on_submit():
                raise ValidationFailed("表单已过期", {"_schema": ["表单已过期，请重新提交"]})
            changes = load_patch(asset.category, form_to_input(asset.category, request.form, partial=True))
            asset, diff = services.update_asset(asset_id, changes, current_user, version)
            return done(f"已保存，修改了 {len(diff)} 项" if diff else "没有需要保存的修改", "assets.detail", asset_id=asset_id)
        except Conflict as exc:
            errors, status = {"_schema": [exc.message]}, 409
            asset = services.get_editable(asset_id, current_user)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    return render_template("assets/form.html", category=asset.category, groups=field_groups(asset.category),
                           values=values, errors=errors, form=form, asset=asset, version=version,
                           townships_list=TOWNSHIPS), status


@bp.route("/<int:asset_id>/delete", methods=["POST"])
@roles_required(*MAINTAINERS)
def delete(asset_id: int):
    """Soft-delete an asset with a reason."""
    form = CsrfForm()
    if not form.validate_on_submit():
        raise ValidationFailed("表单已过期，请刷新后重试")
    asset = services.soft_delete(asset_id, request.form.get("reason", ""), current_user)
    return done(f"已删除设备 {asset.code}（记录保留，可在列表中勾选“含已删除”查看）", "assets.list_assets", category=asset.category.value)


@bp.route("/c/<category>/bulk", methods=["POST"])
@roles_required(*MAINTAINERS)
def bulk(category: str):
    """Apply status / condition grade / user unit to the selected assets."""
    cat = _category(category)
    form = CsrfForm()
    if not form.validate_on_submit():
        raise ValidationFailed("表单已过期，请刷新后重试")
    ids = [as_id(i.strip()) for i in request.form.getlist("ids")]
    if None in ids:  # not digits, or beyond the id column: one message, whatever was sent
        raise ValidationFailed("设备编号无效", {"ids": ["设备编号无效"]})
    raw = {k: request.form.get(f"bulk_{k}", "").strip() for k in services.BULK_FIELDS}
    data = load_or_fail(AssetPatchSchema(only=("status", "condition_grade", "user_unit")),
                        {k: v for k, v in raw.items() if v})
    changed = services.bulk_update(ids, data, current_user)
    flash(f"批量修改完成：{changed} 台设备有变更，已记入各自的修改历史", "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/assets/")
                    else url_for("assets.list_assets", category=cat.value))


@bp.route("/labels.pdf", methods=["GET", "POST"])
@roles_required(*BUSINESS_READERS)
def label_sheet():
    """Print QR labels for the ticked assets (`ids`) or for every asset matching the list filters."""
    values = request.values
    layout = labels.parse_layout(values.get("layout"))
    if request.method == "POST" or "ids" in values:
        data, count = labels.label_pdf(current_user, layout, ids=labels.parse_ids(values.getlist("ids")))
    else:
        data, count = labels.label_pdf(current_user, layout, filters=parse_filters(values))
    return send_bytes(data, f"设备标签-{layout.key}-{count}张-{clock.local_stamp()}.pdf", inline=True,
                      fallback=f"labels-{layout.key}-{count}.pdf")


@bp.route("/<int:asset_id>/assess", methods=["GET", "POST"])
@roles_required(Role.INSPECTOR)
def assess(asset_id: int):
    """Record a condition assessment with an optional photo."""
    asset = services.get_readable(asset_id, current_user)
    form, errors, values = CsrfForm(), {}, {"assessed_on": clock.today().isoformat(),
                                            "assessor": current_user.display_name}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            if not form.validate_on_submit():
                raise ValidationFailed("表单已过期", {"_schema": ["表单已过期，请重新提交"]})
            parsed = assessments.parse_assessment(request.form)
            assessments.record_assessment(asset.id, current_user, photo=request.files.get("photo"), **parsed)
            return done("已录入状况评定", "assets.detail", asset_id=asset.id)
        except ValidationFailed as exc:
            errors = exc.errors
    return render_template("assets/assess.html", asset=asset, values=values, errors=errors, form=form), (
        422 if errors else 200)


@bp.route("/photos/<int:assessment_id>")
@roles_required(*BUSINESS_READERS)
def photo(assessment_id: int):
    """Serve an assessment photo to users who may read its asset."""
    path, ctype = assessments.photo_of(assessment_id, current_user)
    return send_file(path, mimetype=ctype)
