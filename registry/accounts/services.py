"""Account operations: create users, authenticate with lock-out, change passwords."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from registry.accounts import policy
from registry.accounts.models import User
from registry.accounts.passwords import generate_password, hash_password, password_problems, verify_password
from registry.audit import services as audit
from registry.enums import Role
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department

DEPARTMENT_ROLES = {Role.MAINTAINER, Role.INSPECTOR}


def create_user(username: str, display_name: str, role: Role, department_code: str | None = None,
                password: str | None = None, actor=None) -> tuple[User, str]:
    """Create a user; return it with its initial password (generated when not given)."""
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    if not username or len(username) > 64:
        errors["username"] = ["用户名不能为空，且不超过 64 个字符"]
    elif db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = [f"用户名「{username}」已存在"]
    department = None
    if role in DEPARTMENT_ROLES:
        if not department_code:
            errors["department"] = [f"角色「{role.label}」必须指定所属部门"]
        else:
            department = db.session.scalar(sa.select(Department).where(Department.code == department_code))
            if department is None:
                errors["department"] = [f"部门代码「{department_code}」不存在"]
    min_length = policy.get("PASSWORD_MIN_LENGTH")
    if password is None:
        password = generate_password(min_length)
    problems = password_problems(password, username, min_length)
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed("用户信息有误", errors)
    user = User(username=username, display_name=display_name or username, role=role,
                department=department, password_hash=hash_password(password), must_change_password=True)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", object_type="user", object_id=user.id, user=actor,
                 details={"username": username, "role": role.value, "via": "web" if actor else "command line",
                          "department": department.code if department else None})
    db.session.commit()
    return user, password


def authenticate(username: str, password: str, ip: str | None) -> tuple[User | None, str | None]:
    """Check credentials with lock-out; return (user, None) or (None, Chinese reason)."""
    now = datetime.now(timezone.utc)
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    generic = "用户名或密码错误"
    if user is None:
        verify_password(_dummy_hash(), password or "")  # same work as for a real user: no timing oracle
        audit.record("login", outcome="failure", details={"username": username, "reason": "unknown user"}, ip=ip)
        db.session.commit()
        return None, generic
    locked_until = _aware(user.locked_until)
    if locked_until and locked_until > now:
        audit.record("login", outcome="denied", object_type="user", object_id=user.id, user=user, ip=ip,
                     details={"reason": "locked"})
        db.session.commit()
        minutes = int((locked_until - now).total_seconds() // 60) + 1
        return None, f"账户已锁定，请 {minutes} 分钟后再试"
    if not user.active or not verify_password(user.password_hash, password or ""):
        user.failed_logins += 1
        reason = generic
        lockout_minutes = policy.get("LOGIN_LOCKOUT_MINUTES")
        if user.failed_logins >= policy.get("LOGIN_MAX_ATTEMPTS"):
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
            reason = f"连续登录失败次数过多，账户已锁定 {lockout_minutes} 分钟"
            audit.record("user.lock", outcome="success", object_type="user", object_id=user.id, user=user, ip=ip,
                         details={"minutes": lockout_minutes})
        audit.record("login", outcome="failure", object_type="user", object_id=user.id, user=user, ip=ip,
                     details={"reason": "bad password" if user.active else "inactive"})
        db.session.commit()
        return None, reason
    user.failed_logins = 0
    user.locked_until = None
    audit.record("login", object_type="user", object_id=user.id, user=user, ip=ip)
    db.session.commit()
    return user, None


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(generate_password()))
    return _DUMMY[0]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def password_change_reason(user) -> str | None:
    """Return why `user` must change their password before doing anything else, or None."""
    if user.must_change_password:
        return "首次登录或密码被重置后，须先修改密码"
    max_age = policy.get("PASSWORD_MAX_AGE_DAYS")
    changed = _aware(user.password_changed_at)
    if changed is None or datetime.now(timezone.utc) - changed > timedelta(days=max_age):
        return f"密码已超过 {max_age} 天未修改，须先修改密码"
    return None


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Change `user`'s own password after checking the current one and the policy; end other sessions."""
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, current or ""):
        errors["当前密码"] = ["当前密码不正确"]
    if new != confirm:
        errors["确认新密码"] = ["两次输入的新密码不一致"]
    problems = password_problems(new or "", user.username, policy.get("PASSWORD_MIN_LENGTH"))
    if problems:
        errors["新密码"] = problems
    elif current and new == current:
        errors["新密码"] = ["新密码不能与当前密码相同"]
    if errors:
        audit.record("password.change", outcome="failure", object_type="user", object_id=user.id, user=user,
                     details={"fields": sorted(errors)})
        db.session.commit()
        raise ValidationFailed("密码未修改", errors)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = datetime.now(timezone.utc)
    user.session_generation += 1  # every other session of this user stops working
    audit.record("password.change", object_type="user", object_id=user.id, user=user)
    db.session.commit()
