"""Planning JSON API under /api/v1/plans (flask-smorest)."""
from __future__ import annotations

from flask_login import current_user

from registry.accounts.access import roles_required
from registry.api_base import ERROR, Blueprint, stacked
from registry.assets.scoping import asset_scope
from registry.disposals import baselines
from registry.errors import PreconditionRequired, ValidationFailed
from registry.planning import outcomes, progress, report, services, targets, workflow
from registry.planning.access import PLAN_DECIDERS, PLAN_PROPOSERS, PLAN_READERS, dashboard_department, own_department
from registry.planning.schemas import (
    BaselineCreateSchema, BaselinePatchSchema, BaselineSchema, CommentOutSchema, CommentSchema, DiffSchema,
    OutcomeQuerySchema, OutcomesSchema, PinSchema, PlacementPageSchema, PlacementQuerySchema, PlanCreateSchema,
    PlanSchema, PlanSettingsSchema, ProgressRowSchema, TargetSchema, TargetUpdateSchema, TransitionSchema,
)

blp = Blueprint("plans_api", __name__, url_prefix="/api/v1/plans", description="年度分批更新计划")


def _plan_change(rule: str, method: str, body=None, status: int = 200, roles=PLAN_PROPOSERS):
    """Declare a route that changes a plan and answers with it: `body` schema if any, 409 when its state forbids."""
    arguments = (blp.arguments(body),) if body else ()
    return stacked(blp.route(rule, methods=[method]), *arguments, blp.response(status, PlanSchema),
                   blp.alt_response(409, response=ERROR[409]), roles_required(*roles))


@blp.route("/", methods=["GET"])
@blp.response(200, PlanSchema(many=True))
@roles_required(*PLAN_READERS)
def list_plans():
    """List the plans the caller may read."""
    return services.visible_plans(current_user)


@_plan_change("/", "POST", PlanCreateSchema, status=201)
def create_plan(data):
    """Build a draft plan from the latest evaluation."""
    return services.create_plan(year_from=data["year_from"], year_to=data["year_to"],
                                department_code=data.get("department"), quotas=data.get("quotas"),
                                budgets=data.get("budgets"), name=data.get("name"), user=current_user)


@blp.route("/<int:plan_id>", methods=["GET"])
@blp.response(200, PlanSchema)
@roles_required(*PLAN_READERS)
def get_plan(plan_id):
    """Return one plan with its summary."""
    return services.get_plan(plan_id, current_user)


@_plan_change("/<int:plan_id>/settings", "PUT", PlanSettingsSchema)
def put_settings(data, plan_id):
    """Replace a draft's quotas and budgets and rebuild it."""
    return services.update_settings(plan_id, quotas=data["quotas"], budgets=data["budgets"], user=current_user)


@_plan_change("/<int:plan_id>/rebuild", "POST")
def rebuild(plan_id):
    """Rebuild a draft from the latest evaluation, keeping pins."""
    return services.rebuild(plan_id, current_user)


@blp.route("/<int:plan_id>/placements", methods=["GET"])
@blp.arguments(PlacementQuerySchema, location="query")
@blp.response(200, PlacementPageSchema)
@roles_required(*PLAN_READERS)
def placements(args, plan_id):
    """List a plan's placements in priority order (paged), or those that do not fit (`unplaced=true`)."""
    services.get_plan(plan_id, current_user)
    scope = asset_scope(current_user)
    kw = dict(year=args["year"], unplaced=args["unplaced"], category=args["category"], scope=scope)
    try:
        total = report.count_placements(plan_id, **kw)
    except ValueError:
        raise ValidationFailed("参数有误", {"category": [f"未知的设备类别：{args['category']}"]}) from None
    rows = report.placements(plan_id, limit=args["per_page"], offset=(args["page"] - 1) * args["per_page"], **kw)
    return {"total": total, "page": args["page"], "items": rows}


@_plan_change("/<int:plan_id>/pins", "POST", PinSchema)
def pin(data, plan_id):
    """Pin or move an asset to a year (it must have a finding); the draft is rebuilt."""
    return services.pin_asset(plan_id, data["asset"], data["year"], reason=data.get("reason"), user=current_user)


@_plan_change("/<int:plan_id>/pins/<int:asset_id>", "DELETE")
def unpin(plan_id, asset_id):
    """Remove a pin; the draft is rebuilt."""
    return services.unpin_asset(plan_id, asset_id, current_user)


@_plan_change("/<int:plan_id>/transitions", "POST", TransitionSchema)
def transition(data, plan_id):
    """Submit (上报), return, approve or lock a plan."""
    return workflow.transition(plan_id, data["action"], comment=data.get("comment"), user=current_user)


@blp.route("/<int:plan_id>/comments", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(201, CommentOutSchema)
@roles_required(*PLAN_READERS)
def comment(data, plan_id):
    """Add a comment to a plan."""
    event = workflow.add_comment(plan_id, data["comment"], current_user)
    return {"id": event.id, "comment": event.comment}


@_plan_change("/<int:plan_id>/revisions", "POST", status=201, roles=PLAN_DECIDERS)
def revise(plan_id):
    """Open a new draft revision of a locked plan."""
    return workflow.revise(plan_id, user=current_user)


@blp.route("/<int:plan_id>/diff", methods=["GET"])
@blp.response(200, DiffSchema)
@roles_required(*PLAN_READERS)
def diff(plan_id):
    """Return what a revision changes against its parent."""
    return workflow.differences(services.get_plan(plan_id, current_user))


@blp.route("/targets", methods=["GET"])
@blp.response(200, TargetSchema(many=True))
@roles_required(*PLAN_READERS)
def list_targets():
    """List the plan targets."""
    return targets.all_targets()


@blp.route("/targets/<int:target_id>", methods=["PATCH"])
@blp.arguments(TargetUpdateSchema)
@blp.response(200, TargetSchema)
@roles_required(*PLAN_DECIDERS)
def patch_target(data, target_id):
    """Change a target (task force only)."""
    return targets.update_target(target_id, data, current_user)


@blp.route("/progress", methods=["GET"])
@blp.response(200, ProgressRowSchema(many=True))
@roles_required(*PLAN_READERS)
def get_progress():
    """Return target, planned, notified and done per department, category and year."""
    own = own_department(current_user)
    rows = progress.dashboard(own, asset_scope(current_user))
    return [{"department": r.department.code, "category": r.category.value, "target": r.target,
             "years": r.years, "planned": [r.planned.get(y, 0) for y in r.years],
             "notified": [r.notified.get(y, 0) for y in r.years], "done": [r.done.get(y, 0) for y in r.years]}
            for r in rows]


@blp.route("/outcomes", methods=["GET"])
@blp.arguments(OutcomeQuerySchema, location="query")
@blp.response(200, OutcomesSchema)
@roles_required(*PLAN_READERS)
def get_outcomes(args):
    """Return investment and scrapped cars against their 2023 baselines, clause targets and new-energy share."""
    o = outcomes.outcomes(dashboard_department(current_user, args.get("department")), asset_scope(current_user))
    return outcomes.as_dict(o)


@blp.route("/baselines", methods=["GET"])
@blp.response(200, BaselineSchema(many=True))
@roles_required(*PLAN_READERS)
def list_baselines():
    """List the 2023 baselines (the caller's department only, unless task force)."""
    own = own_department(current_user)
    return baselines.all_baselines(own)


@blp.route("/baselines", methods=["POST"])
@blp.arguments(BaselineCreateSchema)
@blp.response(201, BaselineSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_DECIDERS)
def create_baseline(data):
    """Enter a 2023 baseline (task force only); one per measure, department and sector."""
    return baselines.create_baseline(baselines.parse_baseline(data), current_user)


@blp.route("/baselines/<int:baseline_id>", methods=["PATCH"])
@blp.arguments(BaselinePatchSchema)
@blp.response(200, BaselineSchema)
@blp.alt_response(409, response=ERROR[409])
@blp.alt_response(428, response=ERROR[428])
@roles_required(*PLAN_DECIDERS)
def patch_baseline(data, baseline_id):
    """Change a baseline's value or note; the version read earlier is required (stale: 409, nothing changed)."""
    baselines.get_baseline(baseline_id)
    version = data.pop("version", None)
    if version is None:
        raise PreconditionRequired("请提交读取时的版本号（请求体 version）")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationFailed("基数有误，未保存", {"version": ["版本号应为整数"]})
    return baselines.update_baseline(baseline_id, data, current_user, version)
