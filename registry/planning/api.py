"""Planning JSON API under /api/v1/plans (flask-smorest)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.accounts.scoping import asset_scope
from registry.api_base import ERROR, Blueprint
from registry.enums import Role
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.planning import progress, report, services, targets, workflow
from registry.planning.access import PLAN_DECIDERS, PLAN_PROPOSERS, PLAN_READERS
from registry.planning.models import Plan, PlanTarget
from registry.planning.schemas import (
    CommentOutSchema, CommentSchema, DiffSchema, PinSchema, PlacementPageSchema, PlacementQuerySchema,
    PlanCreateSchema, PlanSchema, PlanSettingsSchema, ProgressRowSchema, TargetSchema, TargetUpdateSchema,
    TransitionSchema,
)

blp = Blueprint("plans_api", __name__, url_prefix="/api/v1/plans", description="年度分批更新计划")


@blp.route("/", methods=["GET"])
@blp.response(200, PlanSchema(many=True))
@roles_required(*PLAN_READERS)
def list_plans():
    """List the plans the caller may read."""
    query = sa.select(Plan).order_by(Plan.id.desc())
    if current_user.role not in PLAN_DECIDERS:
        query = query.where(Plan.department_id == current_user.department_id)
    return db.session.scalars(query).all()


@blp.route("/", methods=["POST"])
@blp.arguments(PlanCreateSchema)
@blp.response(201, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
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


@blp.route("/<int:plan_id>/settings", methods=["PUT"])
@blp.arguments(PlanSettingsSchema)
@blp.response(200, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
def put_settings(data, plan_id):
    """Replace a draft's quotas and budgets and rebuild it."""
    return services.update_settings(plan_id, quotas=data["quotas"], budgets=data["budgets"], user=current_user)


@blp.route("/<int:plan_id>/rebuild", methods=["POST"])
@blp.response(200, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
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


@blp.route("/<int:plan_id>/pins", methods=["POST"])
@blp.arguments(PinSchema)
@blp.response(200, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
def pin(data, plan_id):
    """Pin or move an asset to a year (it must have a finding); the draft is rebuilt."""
    return services.pin_asset(plan_id, data["asset"], data["year"], reason=data.get("reason"), user=current_user)


@blp.route("/<int:plan_id>/pins/<int:asset_id>", methods=["DELETE"])
@blp.response(200, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
def unpin(plan_id, asset_id):
    """Remove a pin; the draft is rebuilt."""
    return services.unpin_asset(plan_id, asset_id, current_user)


@blp.route("/<int:plan_id>/transitions", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_PROPOSERS)
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


@blp.route("/<int:plan_id>/revisions", methods=["POST"])
@blp.response(201, PlanSchema)
@blp.alt_response(409, response=ERROR[409])
@roles_required(*PLAN_DECIDERS)
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
    return db.session.scalars(sa.select(PlanTarget).order_by(PlanTarget.code)).all()


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
    own = None if current_user.role is Role.TASKFORCE else (current_user.department_id or -1)
    rows = progress.dashboard(own, asset_scope(current_user))
    return [{"department": r.department.code, "category": r.category.value, "target": r.target,
             "years": r.years, "planned": [r.planned.get(y, 0) for y in r.years],
             "notified": [r.notified.get(y, 0) for y in r.years], "done": [r.done.get(y, 0) for y in r.years]}
            for r in rows]
