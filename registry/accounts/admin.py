"""What the system administrator may do to accounts, with separation of duties enforced."""
from __future__ import annotations

import sqlalchemy as sa

from registry import clock
from registry.accounts import policy, tokens
from registry.accounts.models import User
from registry.accounts.passwords import generate_password, hash_password
from registry.accounts.services import DEPARTMENT_ROLES, create_user
from registry.audit import services as audit
from registry.enums import Role
from registry.errors import NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department

# Granting one of these is never silent: it needs an explicit confirmation and is audited as privileged.
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})


def list_users() -> list[User]:
    """Return every account, active first, then by username."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))


def get_user(user_id: int) -> User:
    """Return the account or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("账户不存在")
    return user


def parse_role(raw: str | None) -> Role:
    """Return the Role named by a form value, or raise ValidationFailed."""
    try:
        return Role(raw or "")
    except ValueError:
        raise ValidationFailed("账户信息有误", {"角色": [f"角色「{(raw or '')[:32]}」不存在"]}) from None


def _refuse(actor: User, target_id, reason: str, details: dict) -> None:
    audit.record_refusal("privilege.escalation", object_type="user", object_id=target_id, user=actor,
                         details={"reason": reason, **details})
    raise PermissionDenied(reason)


def _check_admin_grant(actor: User, target_id, role: Role, confirmed: bool) -> None:
    if actor.role is not Role.SYSADMIN:
        _refuse(actor, target_id, "只有系统管理员可以管理账户", {"role": role.value})
    if role in ADMIN_ROLES and not confirmed:
        raise ValidationFailed("账户信息有误", {"角色": [f"授予管理角色「{role.label}」须勾选确认"]})


def admin_create_user(actor: User, username: str, display_name: str, role_value: str,
                      department_code: str | None, confirm_admin: bool) -> tuple[User, str]:
    """Create an account with a one-time password; admin roles need explicit confirmation."""
    role = parse_role(role_value)
    _check_admin_grant(actor, None, role, confirm_admin)
    user, password = create_user(username, display_name, role,
                                 department_code if role in DEPARTMENT_ROLES else None, actor=actor)
    if role in ADMIN_ROLES:
        audit.record("user.grant_admin_role", object_type="user", object_id=user.id, user=actor,
                     details={"username": user.username, "role": role.value, "privileged": True})
        db.session.commit()
    return user, password


def change_role(actor: User, user_id: int, role_value: str, department_code: str | None,
                confirm_admin: bool) -> User:
    """Change another account's role and department (never one's own)."""
    user = get_user(user_id)
    role = parse_role(role_value)
    if user.id == actor.id:
        _refuse(actor, user.id, "不能修改自己的角色", {"from": user.role.value, "to": role.value})
    _check_admin_grant(actor, user.id, role, confirm_admin)
    department = None
    if role in DEPARTMENT_ROLES:
        department = db.session.scalar(sa.select(Department).where(Department.code == (department_code or "")))
        if department is None:
            raise ValidationFailed("账户信息有误", {"部门": [f"角色「{role.label}」必须指定有效的所属部门"]})
    before = {"role": user.role.value, "department": user.department.code if user.department else None}
    after = {"role": role.value, "department": department.code if department else None}
    if before == after:
        return user
    user.role, user.department = role, department
    user.session_generation += 1  # the new role takes effect at the next login
    revoked = tokens.revoke_all(user)  # a token made for the old role must not carry over to the new one
    audit.record("user.change_role", object_type="user", object_id=user.id, user=actor,
                 details={"before": before, "after": after, "privileged": role in ADMIN_ROLES,
                          "tokens_revoked": revoked})
    db.session.commit()
    return user


def set_active(actor: User, user_id: int, active: bool, reason: str = "") -> User:
    """Deactivate (with a reason) or reactivate an account; accounts are never deleted."""
    user = get_user(user_id)
    if user.id == actor.id:
        _refuse(actor, user.id, "不能停用或启用自己的账户", {"active": active})
    reason = (reason or "").strip()
    if not active and not reason:
        raise ValidationFailed("账户未停用", {"停用原因": ["请填写停用原因"]})
    if len(reason) > 200:
        raise ValidationFailed("账户未停用", {"停用原因": ["停用原因不超过 200 个字符"]})
    if user.active == active:
        return user
    user.active = active
    user.deactivated_at = None if active else clock.now()
    user.deactivation_reason = None if active else reason
    user.session_generation += 1
    details = {"username": user.username, "reason": reason or None}
    if not active:
        details["tokens_revoked"] = tokens.revoke_all(user)
    audit.record("user.reactivate" if active else "user.deactivate", object_type="user", object_id=user.id,
                 user=actor, details=details)
    db.session.commit()
    return user


def reset_password(actor: User, user_id: int) -> tuple[User, str]:
    """Give an account a new one-time password, unlock it, and force a change at next login."""
    user = get_user(user_id)
    if user.id == actor.id:
        _refuse(actor, user.id, "请通过「修改密码」修改自己的密码", {})
    password = generate_password(policy.get("PASSWORD_MIN_LENGTH"))
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    user.session_generation += 1
    audit.record("user.reset_password", object_type="user", object_id=user.id, user=actor,
                 details={"username": user.username, "tokens_revoked": tokens.revoke_all(user)})
    db.session.commit()
    return user, password
