"""Progress dashboard, its evidence lists, and the editable targets and cost estimates."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.accounts.scoping import asset_scope
from registry.enums import Category, LifecycleStatus, Role
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.planning import progress, targets
from registry.planning.access import PLAN_DECIDERS, PLAN_READERS
from registry.planning.charts import progress_chart
from registry.planning.models import PlanTarget, ReplacementCost
from registry.planning.views import bp

SERIES_LABELS = {"planned": "已列入计划", "notified": "已下达通知", "done": "已完成（已更新/已报废）"}


def _own_department():
    return None if current_user.role is Role.TASKFORCE else (current_user.department_id or -1)


@bp.get("/progress")
@roles_required(*PLAN_READERS)
def progress_page():
    """Show target, planned, notified and done per department, category and year, as charts with tables."""
    rows = progress.dashboard(_own_department(), asset_scope(current_user))
    charts = [progress_chart(f"{r.department.name} · {r.category.label}", r.years,
                             {k: r.cumulative(k) for k in ("planned", "notified", "done")}, r.target,
                             "目标" if all(t.fed_by_findings for t in r.targets) else "加装目标（不计更新）")
              for r in rows]
    return render_template("planning/progress.html", rows=list(zip(rows, charts)), series=SERIES_LABELS)


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
    department_id = request.args.get("department", type=int)
    own = _own_department()
    if own is not None:
        department_id = own
    year = request.args.get("year", type=int)
    rows = progress.evidence(series, department_id or 0, category, year, asset_scope(current_user))
    return render_template("planning/evidence.html", rows=rows, series=SERIES_LABELS[series], category=category,
                           year=year, LifecycleStatus=LifecycleStatus)


@bp.get("/targets")
@roles_required(*PLAN_READERS)
def targets_page():
    """Show the targets and the cost estimates (editable by the task force)."""
    return render_template("planning/targets.html",
                           targets=db.session.scalars(sa.select(PlanTarget).order_by(PlanTarget.code)).all(),
                           costs=db.session.scalars(sa.select(ReplacementCost).order_by(
                               ReplacementCost.category, ReplacementCost.asset_type)).all(),
                           can_edit=current_user.role in PLAN_DECIDERS, type_label=_type_label)


def _type_label(cost: ReplacementCost) -> str:
    """Return the Chinese name of a cost row's type ("（默认）" for the category default)."""
    from registry.enums import FarmMachineType, MachineType
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
    return redirect(url_for("planning.targets_page"))


@bp.post("/costs/<int:cost_id>")
@roles_required(*PLAN_DECIDERS)
def edit_cost(cost_id: int):
    """Change an estimated replacement cost."""
    targets.update_cost(cost_id, request.form.get("unit_cost"), current_user)
    flash("估算费用已保存", "success")
    return redirect(url_for("planning.targets_page"))
