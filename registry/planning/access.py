"""Who may see and change which plan (department scoping for plans).

The task force (工作专班) works on every plan. A department maintainer may view its
department's plans and propose one: create, rebuild, pin and submit (上报) a draft for its
own department. Inspectors may view their department's plans. Approval, locking, returning
and revising are the task force's alone.
"""
from __future__ import annotations

import sqlalchemy as sa

from registry.accounts.scoping import can_read_department, department_scope
from registry.enums import Role
from registry.errors import PermissionDenied, ValidationFailed
from registry.orgs.services import department_by_code
from registry.planning.models import Plan

PLAN_READERS = (Role.TASKFORCE, Role.MAINTAINER, Role.INSPECTOR)
PLAN_PROPOSERS = (Role.TASKFORCE, Role.MAINTAINER)
PLAN_DECIDERS = (Role.TASKFORCE,)


def can_view_plan(user, plan) -> bool:
    """Tell whether `user` may read `plan`."""
    if not getattr(user, "is_authenticated", False) or user.role not in PLAN_READERS:
        return False
    return can_read_department(user, plan.department_id)


def plan_scope(user):
    """Return a SQL condition limiting plans to those `user` may read (same rule as `can_view_plan`)."""
    if not getattr(user, "is_authenticated", False) or user.role not in PLAN_READERS:
        return sa.false()
    return department_scope(user, Plan.department_id)


def can_propose(user, plan) -> bool:
    """Tell whether `user` may change a draft of `plan` (rebuild, pin) or submit it."""
    return can_view_plan(user, plan) and user.role in PLAN_PROPOSERS


def require_view(user, plan) -> None:
    """Raise PermissionDenied unless `user` may read `plan`."""
    if user is not None and not can_view_plan(user, plan):
        raise PermissionDenied("您无权查看此计划（仅工作专班或本部门人员可查看）")


def require_propose(user, plan) -> None:
    """Raise PermissionDenied unless `user` may change or submit `plan`."""
    if user is not None and not can_propose(user, plan):
        raise PermissionDenied("您无权调整此计划（仅工作专班或本部门维护员可调整）")


def require_decide(user) -> None:
    """Raise PermissionDenied unless `user` belongs to the task force."""
    if user is not None and getattr(user, "role", None) not in PLAN_DECIDERS:
        raise PermissionDenied("只有工作专班可以审批、锁定、退回或修订计划")


def department_for_new_plan(user, requested_id: int | None) -> int | None:
    """Return the department a new plan covers: a maintainer's own department, or the task force's choice."""
    if user is None or user.role is Role.TASKFORCE:
        return requested_id
    if user.role is Role.MAINTAINER and user.department_id is not None:
        if requested_id not in (None, user.department_id):
            raise PermissionDenied("部门维护员只能为本部门编制计划")
        return user.department_id
    raise PermissionDenied("只有工作专班或部门维护员可以编制计划")


def own_department(user) -> int | None:
    """Return the one department whose progress `user` reads (-1: none), or None for the task force (every one)."""
    return None if user.role is Role.TASKFORCE else (user.department_id or -1)


def dashboard_department(user, code) -> int | None:
    """Return the department a progress dashboard shows: the reader's own, else the task force's choice (None: city)."""
    if user.role is not Role.TASKFORCE:
        return own_department(user)
    code = code.strip() if isinstance(code, str) else ""
    if not code:
        return None
    department = department_by_code(code)
    if department is None:
        raise ValidationFailed("参数有误", {"department": [f"主管部门：「{code[:32]}」不存在"]})
    return department.id
