"""Planning pages: plan list and builder, plan detail with pins and workflow, revisions, exports."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.downloads import send_bytes
from registry.assets.scoping import asset_scope
from registry.enums import Category, PlanStatus, RuleOutcome
from registry.errors import ValidationFailed
from registry.inputs import MAX_PAGE, query_int
from registry.orgs.services import all_departments
from registry.pages import done
from registry.planning import access, exports, report, services, workflow
from registry.planning.access import PLAN_DECIDERS, PLAN_PROPOSERS, PLAN_READERS
from registry.planning.inputs import form_years, open_years

bp = Blueprint("planning", __name__, url_prefix="/plans")
PAGE = 100


def form_quotas(form) -> dict:
    """Read quota-<category>-<year> inputs into {category: {year: text}} (blank inputs left out)."""
    out: dict = {}
    for key, value in form.items():
        if key.startswith("quota-") and value.strip():
            parts = key.split("-", 2)
            if len(parts) == 3:
                out.setdefault(parts[1], {})[parts[2]] = value
            else:  # "quota-x" names no year: parse_quotas refuses a value not given per year
                out[parts[1]] = value
    return out


def form_budgets(form) -> dict:
    """Read budget-<year> inputs into {year: text} (blank inputs left out)."""
    return {key.split("-", 1)[1]: v for key, v in form.items() if key.startswith("budget-") and v.strip()}


def _index(errors=None, status=200):
    # A refused form is shown again with the years it asked for, so every quota error has its input.
    years = form_years(request.form.get("year_from"), request.form.get("year_to")) or open_years(clock.today())
    return render_template("planning/index.html", plans=services.visible_plans(current_user),
                           depts=all_departments(), years=years,
                           categories=list(Category), errors=errors or {}, form=request.form,
                           can_create=current_user.role in PLAN_PROPOSERS,
                           evaluation=services.source_evaluation()), status


def _to_plan(plan_id: int, message: str, **args):
    """Say `message` (success) and show the plan again, with `args` in its address."""
    return done(message, "planning.detail", plan_id=plan_id, **args)


def _download(plan_id: int, build, extension: str):
    """Send the plan as `build(plan, scope, user)` makes it (the export audits itself), named by id and revision."""
    plan = services.get_plan(plan_id, current_user)
    data = build(plan, asset_scope(current_user), current_user)
    return send_bytes(data, f"plan-{plan.id}-r{plan.revision}.{extension}")


@bp.get("/")
@roles_required(*PLAN_READERS)
def index():
    """List the plans the user may see, with the form to build a new one."""
    return _index()


@bp.post("/")
@roles_required(*PLAN_PROPOSERS)
def create():
    """Build a new draft plan from the form."""
    form = request.form
    try:
        plan = services.create_plan(year_from=form.get("year_from"), year_to=form.get("year_to"),
                                    department_code=form.get("department") or None, quotas=form_quotas(form),
                                    budgets=form_budgets(form), name=form.get("name"), user=current_user)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return _index(exc.errors, 422)
    return _to_plan(plan.id, f"已编制计划草稿：列入 {plan.summary['placed']} 项，未能列入 {plan.summary['unplaced']} 项")


@bp.get("/<int:plan_id>")
@roles_required(*PLAN_READERS)
def detail(plan_id: int):
    """Show a plan: yearly table, shortfalls, overruns, placements of one year (paged), pins, workflow."""
    plan = services.get_plan(plan_id, current_user)
    unplaced = request.args.get("view") == "unplaced"
    year = query_int("year", "年度", 1900, 2100)
    if year not in plan.years:
        year = plan.year_from
    page = query_int("page", "页码", 1, MAX_PAGE, 1)
    scope = asset_scope(current_user)
    rows = report.placements(plan.id, year=year, unplaced=unplaced, scope=scope, limit=PAGE, offset=(page - 1) * PAGE)
    total = report.count_placements(plan.id, year=year, unplaced=unplaced, scope=scope)
    return render_template(
        "planning/detail.html", plan=plan, summary=plan.summary or {}, table=report.year_table(plan),
        depts=report.department_names(), rows=rows, total=total, page=page, pages=max((total - 1) // PAGE + 1, 1),
        year=year, unplaced=unplaced, pins=report.pins(plan.id), events=workflow.events(plan.id),
        can_propose=access.can_propose(current_user, plan) and plan.status is PlanStatus.DRAFT,
        can_submit=access.can_propose(current_user, plan), is_decider=current_user.role in PLAN_DECIDERS,
        Category=Category, RuleOutcome=RuleOutcome, PlanStatus=PlanStatus, categories=list(Category))


@bp.post("/<int:plan_id>/settings")
@roles_required(*PLAN_PROPOSERS)
def settings(plan_id: int):
    """Change a draft's quotas and budgets and rebuild it."""
    services.update_settings(plan_id, quotas=form_quotas(request.form), budgets=form_budgets(request.form),
                             user=current_user)
    return _to_plan(plan_id, "已按新的配额和预算重新编制")


@bp.post("/<int:plan_id>/rebuild")
@roles_required(*PLAN_PROPOSERS)
def rebuild(plan_id: int):
    """Rebuild a draft from the latest evaluation (pins kept)."""
    services.rebuild(plan_id, current_user)
    return _to_plan(plan_id, "已依据最新评估结果重新编制（人工指定保留）")


@bp.post("/<int:plan_id>/pins")
@roles_required(*PLAN_PROPOSERS)
def pin(plan_id: int):
    """Pin or move an asset to a year."""
    form = request.form
    services.pin_asset(plan_id, form.get("asset", ""), form.get("year"), reason=form.get("reason"),
                       user=current_user)
    return _to_plan(plan_id, f"已将设备 {form.get('asset')} 指定列入 {form.get('year')} 年", year=form.get("year"))


@bp.post("/<int:plan_id>/pins/<int:asset_id>/remove")
@roles_required(*PLAN_PROPOSERS)
def unpin(plan_id: int, asset_id: int):
    """Remove a pin."""
    services.unpin_asset(plan_id, asset_id, current_user)
    return _to_plan(plan_id, "已取消人工指定")


@bp.post("/<int:plan_id>/transition")
@roles_required(*PLAN_PROPOSERS)
def transition(plan_id: int):
    """Submit, return, approve or lock a plan."""
    action = request.form.get("action", "")
    plan = workflow.transition(plan_id, action, comment=request.form.get("comment"), user=current_user)
    return _to_plan(plan_id, f"计划状态：{plan.status.label}")


@bp.post("/<int:plan_id>/comments")
@roles_required(*PLAN_READERS)
def comment(plan_id: int):
    """Add a comment."""
    workflow.add_comment(plan_id, request.form.get("comment", ""), current_user)
    return _to_plan(plan_id, "已添加意见")


@bp.post("/<int:plan_id>/revise")
@roles_required(*PLAN_DECIDERS)
def revise(plan_id: int):
    """Open a new revision of a locked plan."""
    child = workflow.revise(plan_id, comment=request.form.get("comment"), user=current_user)
    return _to_plan(child.id, f"已新建修订 #{child.revision}（草稿）")


@bp.get("/<int:plan_id>/diff")
@roles_required(*PLAN_READERS)
def diff(plan_id: int):
    """Show what a revision changes against its parent."""
    plan = services.get_plan(plan_id, current_user)
    return render_template("planning/diff.html", plan=plan, diff=workflow.differences(plan))


@bp.get("/<int:plan_id>/export.xlsx")
@roles_required(*PLAN_READERS)
def export_xlsx(plan_id: int):
    """Download the plan as a workbook."""
    return _download(plan_id, exports.plan_xlsx, "xlsx")


@bp.get("/<int:plan_id>/report.pdf")
@roles_required(*PLAN_READERS)
def export_pdf(plan_id: int):
    """Download the plan report as PDF."""
    return _download(plan_id, exports.plan_pdf, "pdf")


