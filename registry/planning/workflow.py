"""Plan workflow: 草稿 -> 已上报 -> 已审批 -> 已锁定, comments, revisions of locked plans and their differences."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.assets.services import change_status
from registry.audit import services as audit
from registry.enums import LifecycleStatus, PlanStatus
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.planning import access
from registry.planning.models import Plan, PlanEvent, PlanPin, PlanPlacement
from registry.planning.services import get_plan

# action: (allowed from, to, label, who may do it: "propose" or "decide")
TRANSITIONS = {
    "submit": ((PlanStatus.DRAFT,), PlanStatus.SUBMITTED, "上报", "propose"),
    "return": ((PlanStatus.SUBMITTED, PlanStatus.APPROVED), PlanStatus.DRAFT, "退回修改", "decide"),
    "approve": ((PlanStatus.SUBMITTED,), PlanStatus.APPROVED, "审批通过", "decide"),
    "lock": ((PlanStatus.APPROVED,), PlanStatus.LOCKED, "锁定", "decide"),
}
# Statuses a lock may move to 已列入更新计划 (a notified or finished asset keeps its later status).
PLANNABLE = (LifecycleStatus.IN_USE, LifecycleStatus.IDLE)


def transition(plan_id: int, action: str, *, comment: str | None = None, user=None) -> Plan:
    """Move a plan along its workflow; `return` needs a comment; `lock` marks its assets 已列入更新计划."""
    if action not in TRANSITIONS:
        raise ValidationFailed("未知的操作", {"action": [f"未知的操作：{action}（可选：{'、'.join(TRANSITIONS)}）"]})
    sources, target, label, who = TRANSITIONS[action]
    plan = get_plan(plan_id, user, lock=True)
    if who == "decide":
        access.require_decide(user)
    else:
        access.require_propose(user, plan)
    if plan.status not in sources:
        raise Conflict(f"计划当前为「{plan.status.label}」，不能{label}")
    comment = (comment or "").strip() or None
    if action == "return" and not comment:
        raise ValidationFailed("退回须填写意见", {"comment": ["请填写退回意见"]})
    if plan.built_at is None:
        raise Conflict("计划尚未编制，不能" + label)
    if action == "approve" and user is not None and submitter_id(plan.id) == user.id:
        raise PermissionDenied("上报人不能审批自己上报的计划，请由另一位工作专班成员审批")
    before = plan.status
    plan.status = target
    moved = _lock(plan, user) if action == "lock" else None
    db.session.add(PlanEvent(plan_id=plan.id, user_id=getattr(user, "id", None), action=action,
                             from_status=before.value, to_status=target.value, comment=comment))
    details = {"before": before.value, "after": target.value, "comment": comment}
    if moved is not None:
        details["assets_planned"] = moved
    audit.record(f"plan.{action}", object_type="plan", object_id=plan.id, user=user, details=details)
    db.session.commit()
    return plan


def _lock(plan: Plan, user) -> int:
    placed = sa.select(PlanPlacement.asset_id).where(PlanPlacement.plan_id == plan.id,
                                                     PlanPlacement.year.is_not(None))
    moved = change_status(placed, LifecycleStatus.PLANNED, user, source="plan",
                          reason=f"计划 {plan.id}（修订 #{plan.revision}）锁定", only_from=PLANNABLE)
    parent = db.session.get(Plan, plan.parent_id) if plan.parent_id else None
    if parent is not None and parent.status is PlanStatus.LOCKED:
        # Assets the new revision drops are no longer planned (unless another locked plan keeps them).
        kept_elsewhere = (sa.select(PlanPlacement.asset_id).join(Plan, Plan.id == PlanPlacement.plan_id)
                          .where(Plan.status == PlanStatus.LOCKED, Plan.id.notin_([parent.id, plan.id]),
                                 PlanPlacement.year.is_not(None)))
        dropped = sa.select(PlanPlacement.asset_id).where(
            PlanPlacement.plan_id == parent.id, PlanPlacement.year.is_not(None),
            PlanPlacement.asset_id.notin_(placed), PlanPlacement.asset_id.notin_(kept_elsewhere))
        change_status(dropped, LifecycleStatus.IN_USE, user, source="plan",
                      reason=f"计划 {plan.id}（修订 #{plan.revision}）不再包含", only_from=(LifecycleStatus.PLANNED,))
        parent.status = PlanStatus.SUPERSEDED
        db.session.add(PlanEvent(plan_id=parent.id, user_id=getattr(user, "id", None), action="supersede",
                                 from_status="locked", to_status="superseded",
                                 comment=f"被修订 #{plan.revision}（计划 {plan.id}）取代"))
    return moved


def submitter_id(plan_id: int) -> int | None:
    """Return the id of the user who last submitted the plan (the approver must be someone else)."""
    return db.session.scalar(sa.select(PlanEvent.user_id).where(PlanEvent.plan_id == plan_id,
                                                               PlanEvent.action == "submit")
                             .order_by(PlanEvent.id.desc()).limit(1))


def add_comment(plan_id: int, text: str, user=None) -> PlanEvent:
    """Add a comment to a plan (anyone who may read it)."""
    plan = get_plan(plan_id, user)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("意见不能为空", {"comment": ["请填写意见"]})
    event = PlanEvent(plan_id=plan.id, user_id=getattr(user, "id", None), action="comment", comment=text[:2000])
    db.session.add(event)
    audit.record("plan.comment", object_type="plan", object_id=plan.id, user=user, details={"comment": text[:2000]})
    db.session.commit()
    return event


def revise(plan_id: int, *, comment: str | None = None, user=None) -> Plan:
    """Open a new draft revision of a locked plan, starting from its placements and pins."""
    access.require_decide(user)
    plan = get_plan(plan_id, user, lock=True)
    if plan.status is not PlanStatus.LOCKED:
        raise Conflict(f"只有已锁定的计划可以修订（当前为「{plan.status.label}」）")
    open_child = db.session.scalar(sa.select(Plan.id).where(Plan.parent_id == plan.id))
    if open_child:
        raise Conflict(f"此计划已有修订（计划 {open_child}）")
    child = Plan(name=plan.name, year_from=plan.year_from, year_to=plan.year_to, department_id=plan.department_id,
                 status=PlanStatus.DRAFT, revision=plan.revision + 1, parent_id=plan.id,
                 evaluation_id=plan.evaluation_id, evaluation_as_of=plan.evaluation_as_of, quotas=plan.quotas,
                 budgets=plan.budgets, summary=plan.summary, built_at=plan.built_at,
                 created_by=getattr(user, "id", None))
    db.session.add(child)
    db.session.flush()
    cols = ["asset_id", "year", "rank", "category", "department_id", "outcome", "mandatory", "overdue_months",
            "years_beyond", "condition_rank", "rule_code", "est_cost", "pinned", "explanation"]
    src = PlanPlacement.__table__.c
    db.session.execute(sa.insert(PlanPlacement).from_select(
        ["plan_id", *cols], sa.select(sa.literal(child.id), *[src[c] for c in cols]).where(src.plan_id == plan.id)))
    for pin in db.session.scalars(sa.select(PlanPin).where(PlanPin.plan_id == plan.id, PlanPin.removed_at.is_(None))):
        db.session.add(PlanPin(plan_id=child.id, asset_id=pin.asset_id, year=pin.year, reason=pin.reason,
                               created_by=pin.created_by))
    db.session.add(PlanEvent(plan_id=child.id, user_id=getattr(user, "id", None), action="revise",
                             comment=comment or f"由计划 {plan.id}（修订 #{plan.revision}）修订"))
    audit.record("plan.revise", object_type="plan", object_id=child.id, user=user,
                 details={"parent": plan.id, "revision": child.revision, "comment": comment})
    db.session.commit()
    return child


def differences(plan: Plan, limit: int = 1000) -> dict:
    """Return what changed against the parent revision: assets added, removed and moved to another year."""
    if plan.parent_id is None:
        return {"parent_id": None, "added": [], "removed": [], "moved": [], "counts": {}}
    new = PlanPlacement.__table__.alias("new")
    old = PlanPlacement.__table__.alias("old")

    def side(a, b, a_id, b_id):
        return (sa.select(a.c.asset_id, Asset.code, a.c.year.label("year"), b.c.year.label("other_year"),
                          a.c.explanation)
                .join(Asset, Asset.id == a.c.asset_id)
                .outerjoin(b, sa.and_(b.c.asset_id == a.c.asset_id, b.c.plan_id == b_id))
                .where(a.c.plan_id == a_id))

    in_new = db.session.execute(side(new, old, plan.id, plan.parent_id)).all()
    in_old = db.session.execute(side(old, new, plan.parent_id, plan.id)).all()
    added = [r for r in in_new if r.year is not None and r.other_year is None]
    moved = [r for r in in_new if r.year is not None and r.other_year is not None and r.year != r.other_year]
    removed = [r for r in in_old if r.year is not None and r.other_year is None]
    counts = {"added": len(added), "removed": len(removed), "moved": len(moved)}
    return {"parent_id": plan.parent_id, "counts": counts,
            "added": [_diff_row(r) for r in added[:limit]], "removed": [_diff_row(r) for r in removed[:limit]],
            "moved": [_diff_row(r) for r in moved[:limit]]}


def _diff_row(r) -> dict:
    return {"asset_id": r.asset_id, "code": r.code, "year": r.year, "other_year": r.other_year,
            "explanation": r.explanation}


def events(plan_id: int) -> list[PlanEvent]:
    """Return the plan's workflow steps and comments, oldest first."""
    return list(db.session.scalars(sa.select(PlanEvent).where(PlanEvent.plan_id == plan_id).order_by(PlanEvent.id)))
