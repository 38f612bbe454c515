"""Progress dashboard (outcomes, clause targets, new-energy share), its exports and evidence lists,
the 2023 baselines, and the editable targets and cost estimates."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.assets.scoping import asset_scope
from registry.db_types import MAX_ID, as_id
from registry.disposals import baselines
from registry.downloads import send_bytes
from registry.enums import BaselineMeasure, Category, FarmMachineType, LifecycleStatus, MachineType, Role
from registry.errors import Conflict, ValidationFailed
from registry.inputs import query_int
from registry.orgs.services import all_departments
from registry.pages import done
from registry.planning import exports, outcomes, progress, targets
from registry.planning.access import PLAN_DECIDERS, PLAN_READERS, dashboard_department, own_department
from registry.planning.charts import outcome_charts
from registry.planning.models import ReplacementCost
from registry.planning.progress import SERIES_LABELS


bp = Blueprint("progress", __name__, url_prefix="/plans")


def _chosen_department() -> int | None:
    return dashboard_department(current_user, request.args.get("department"))


@bp.get("/progress")
@roles_required(*PLAN_READERS)
def progress_page():
    """Show investment, scrapped cars, clause targets and new-energy share per year and department, charts by tables."""
    o = outcomes.outcomes(_chosen_department(), asset_scope(current_user))
    charts = outcome_charts(o)
    return render_template("planning/progress.html", o=o, charts=charts, rows=list(zip(o.clauses, charts["clauses"])),
                           series=SERIES_LABELS, departments=all_departments(),
                           can_choose=current_user.role is Role.TASKFORCE, BaselineMeasure=BaselineMeasure)


def _export_name(o, extension: str) -> str:
    scope = o.department.name if o.department else "全市"
    return f"设备更新进度-{scope}-{clock.local_now().strftime('%Y%m%d-%H%M')}.{extension}"


@bp.get("/progress/export.xlsx")
@roles_required(*PLAN_READERS)
def progress_xlsx():
    """Download the dashboard as a workbook (one sheet per section, every figure a number)."""
    o = outcomes.outcomes(_chosen_department(), asset_scope(current_user))
    return send_bytes(exports.progress_xlsx(o, current_user), _export_name(o, "xlsx"),
                      fallback=f"progress-{clock.local_now().strftime('%Y%m%d-%H%M')}.xlsx")


@bp.get("/progress/report.pdf")
@roles_required(*PLAN_READERS)
def progress_pdf():
    """Download the dashboard as a PDF for the task force meeting (charts beside their tables)."""
    o = outcomes.outcomes(_chosen_department(), asset_scope(current_user))
    return send_bytes(exports.progress_pdf(o, outcome_charts(o), current_user), _export_name(o, "pdf"),
                      fallback=f"progress-{clock.local_now().strftime('%Y%m%d-%H%M')}.pdf")


def _baselines_page(errors=None, status=200, failed=None):
    own = own_department(current_user)
    rows = baselines.all_baselines(None if own is None else own)
    have = {(b.measure, b.department_id, b.sector): b for b in rows}
    slots = [(d, m, sector, have.get((m, d.id, sector)))
             for d in all_departments() if own is None or d.id == own
             for m in BaselineMeasure for sector in baselines.sectors_of(d, m)]
    offered = {(m, d.id, sector) for d, m, sector, _b in slots}
    extra = [b for b in rows if (b.measure, b.department_id, b.sector) not in offered]
    return render_template("planning/baselines.html", slots=slots, extra=extra, errors=errors or {},
                           failed=failed or {}, can_edit=current_user.role in PLAN_DECIDERS,
                           sector_label=baselines.sector_label, units=baselines.UNITS,
                           headlines=outcomes.HEADLINES), status


@bp.get("/baselines")
@roles_required(*PLAN_READERS)
def baselines_page():
    """Show the 2023 baselines per department and sector (entered by the task force)."""
    return _baselines_page()


@bp.post("/baselines")
@roles_required(*PLAN_DECIDERS)
def create_baseline():
    """Enter one 2023 baseline."""
    return _save_baseline(lambda: baselines.create_baseline(baselines.parse_baseline(request.form), current_user))


def _save_baseline(save):
    """Run one baseline change; show the page again with its errors (422, or 409 if stale), else go back."""
    try:
        save()
    except ValidationFailed as exc:
        return _baselines_page(exc.errors, 422, request.form)
    except Conflict as exc:
        return _baselines_page({"_schema": [exc.message]}, 409, request.form)
    return done("2023 年基数已保存", "progress.baselines_page")


@bp.post("/baselines/<int:baseline_id>")
@roles_required(*PLAN_DECIDERS)
def edit_baseline(baseline_id: int):
    """Change one 2023 baseline, based on the version the form was opened with."""
    def save():
        version = as_id((request.form.get("version") or "").strip())
        if version is None:
            raise ValidationFailed("基数有误，未保存", {"version": ["表单缺少版本号，请刷新后重试"]})
        baselines.update_baseline(baseline_id, {k: request.form[k] for k in ("value", "note") if k in request.form},
                                  current_user, version)
    return _save_baseline(save)


@bp.get("/progress/evidence")
@roles_required(*PLAN_READERS)
def evidence():
    """List the assets behind one dashboard figure."""
    series = request.args.get("series", "done")
    if series not in SERIES_LABELS:
        raise ValidationFailed("参数有误", {"series": [f"未知的统计项：{series}"]})
    try:
        category = Category(request.args.get("category", ""))
    except ValueError:
        raise ValidationFailed("参数有误", {"category": ["未知的设备类别"]}) from None
    department_id = query_int("department", "主管部门", 0, MAX_ID)
    own = own_department(current_user)
    if own is not None:
        department_id = own
    year = query_int("year", "年度", 1900, 2100)
    rows = progress.evidence(series, department_id or 0, category, year, asset_scope(current_user))
    return render_template("planning/evidence.html", rows=rows, series=SERIES_LABELS[series], category=category,
                           year=year, LifecycleStatus=LifecycleStatus)


@bp.get("/targets")
@roles_required(*PLAN_READERS)
def targets_page():
    """Show the targets and the cost estimates (editable by the task force)."""
    return render_template("planning/targets.html",
                           targets=targets.all_targets(), costs=targets.all_costs(),
                           can_edit=current_user.role in PLAN_DECIDERS, type_label=_type_label)


def _type_label(cost: ReplacementCost) -> str:
    """Return the Chinese name of a cost row's type ("（默认）" for the category default)."""
    enum_cls = {Category.CONSTRUCTION_MACHINE: MachineType, Category.FARM_MACHINE: FarmMachineType}.get(cost.category)
    if not cost.asset_type:
        return "（默认）"
    try:
        return enum_cls(cost.asset_type).label if enum_cls else cost.asset_type
    except ValueError:
        return cost.asset_type


@bp.post("/targets/<int:target_id>")
@roles_required(*PLAN_DECIDERS)
def edit_target(target_id: int):
    """Change a target's figure, years or citation."""
    targets.update_target(target_id, request.form, current_user)
    flash("目标已保存", "success")
    return redirect(url_for("progress.targets_page"))


@bp.post("/costs/<int:cost_id>")
@roles_required(*PLAN_DECIDERS)
def edit_cost(cost_id: int):
    """Change an estimated replacement cost."""
    targets.update_cost(cost_id, request.form.get("unit_cost"), current_user)
    flash("估算费用已保存", "success")
    return redirect(url_for("progress.targets_page"))
