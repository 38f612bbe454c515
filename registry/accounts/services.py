"""Account operations: create users, authenticate with lock-out, change passwords."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from registry import clock, throttle
from registry.accounts import policy
from registry.accounts.models import User
from registry.accounts.passwords import generate_password, hash_password, password_problems, verify_password
from registry.audit import services as audit
from registry.enums import Role
from registry.errors import TooManyRequests, ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department

DEPARTMENT_ROLES = {Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD}


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


# One answer for every failed login: an unknown name, a wrong password, a locked or a deactivated
# account all read the same, with the same status and the same Argon2 work, so the login form tells
# nobody which accounts exist or are locked (the audit log records the real reason).
LOGIN_FAILED = "用户名或密码错误，或账户已被锁定"


def admit_login(ip: str | None) -> throttle.Window | None:
    """Count one login attempt from `ip` against the per-address limit; raise TooManyRequests past it.

    Counted before the password check (so concurrent attempts cannot slip past the limit) and taken
    back when the login succeeds: in effect the limit is on failed attempts per address and window.
    The first refusal of a window is audited once; later ones are only counted.
    """
    if not throttle.enabled():
        return None
    count, window = throttle.hit("login", ip)
    if count > window.limit:
        if count == window.limit + 1:
            audit.record("login.throttled", outcome="denied", ip=ip, details={
                "address": window.address, "limit": window.limit, "window_seconds": window.seconds})
        db.session.commit()
        raise TooManyRequests(f"来自该地址的登录失败次数过多，请 {window.minutes_left()} 分钟后再试",
                              window.retry_after())
    db.session.commit()
    return window


def release_login(window: throttle.Window | None) -> None:
    """Take back the attempt `admit_login` counted, once it turned out to be a successful login."""
    if window is not None:
        throttle.refund(window)
        db.session.commit()


def authenticate(username: str, password: str, ip: str | None) -> tuple[User | None, str | None]:
    """Check credentials with lock-out; return (user, None) or (None, the one failure message).

    No database connection is held during the Argon2 work (~0.1 s): each step commits before it.
    """
    name = (username or "").strip()
    user_id = db.session.scalar(sa.select(User.id).where(User.username == name))
    db.session.commit()
    if user_id is None:
        verify_password(_dummy_hash(), password or "")  # the same work as for a real account
        audit.record("login", outcome="failure", details={"username": name[:64], "reason": "unknown user"}, ip=ip)
        db.session.commit()
        return None, LOGIN_FAILED
    max_attempts = policy.get("LOGIN_MAX_ATTEMPTS")
    attempt = _reserve_attempt(user_id, max_attempts, policy.get("LOGIN_LOCKOUT_MINUTES"))
    if attempt is None:
        verify_password(_dummy_hash(), password or "")  # locked: no real check, but the same work
        user = db.session.get(User, user_id)
        audit.record("login", outcome="denied", object_type="user", object_id=user.id, user=user, ip=ip,
                     details={"reason": "locked"})
        db.session.commit()
        return None, LOGIN_FAILED
    number, password_hash, active = attempt
    matches = verify_password(password_hash, password or "")  # also for a deactivated account: same timing
    if matches and active:
        db.session.execute(sa.update(User).where(User.id == user_id).values(failed_logins=0, locked_until=None)
                           .execution_options(synchronize_session=False))
        user = db.session.get(User, user_id)
        audit.record("login", object_type="user", object_id=user.id, user=user, ip=ip)
        db.session.commit()
        return user, None
    user = db.session.get(User, user_id)
    if number >= max_attempts:
        audit.record("user.lock", outcome="success", object_type="user", object_id=user.id, user=user, ip=ip,
                     details={"minutes": policy.get("LOGIN_LOCKOUT_MINUTES"), "attempts": number})
    audit.record("login", outcome="failure", object_type="user", object_id=user.id, user=user, ip=ip,
                 details={"reason": "bad password" if active else "inactive"})
    db.session.commit()
    return None, LOGIN_FAILED


def _reserve_attempt(user_id: int, max_attempts: int, lockout_minutes: int) -> tuple[int, str, bool] | None:
    """Count one login attempt before the password is checked; return (its number, hash, active), or None if locked.

    One UPDATE ... RETURNING, committed at once: concurrent attempts are numbered by the database (row
    lock on PostgreSQL, the write lock on SQLite), so at most `max_attempts` of them ever reach a password
    check. The attempt that reaches the limit locks the account already; its own check can still unlock
    it, and every attempt arriving meanwhile is refused. An expired lock starts the count again.
    """
    now = clock.now()
    unlocked = sa.or_(User.locked_until.is_(None), User.locked_until <= now)
    expired = sa.and_(User.locked_until.is_not(None), User.locked_until <= now)
    count = sa.case((expired, 1), else_=User.failed_logins + 1)
    lock_end = sa.literal(now + timedelta(minutes=lockout_minutes), User.locked_until.type)
    row = db.session.execute(
        sa.update(User).where(User.id == user_id, unlocked)
        .values(failed_logins=count, locked_until=sa.case((count >= max_attempts, lock_end), else_=sa.null()))
        .returning(User.failed_logins, User.password_hash, User.active)
        .execution_options(synchronize_session=False)).first()
    db.session.commit()
    return tuple(row) if row else None


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
    if changed is None or clock.now() - changed > timedelta(days=max_age):
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
    user.password_changed_at = clock.now()
    user.session_generation += 1  # every other session of this user stops working
    audit.record("password.change", object_type="user", object_id=user.id, user=user)
    db.session.commit()


def end_session(user: User) -> None:
    """Log `user` out everywhere this cookie generation reached: bump the generation, audit, commit."""
    user.session_generation += 1
    audit.record("logout", object_type="user", object_id=user.id, user=user)
    db.session.commit()


def user_named(username: str) -> User | None:
    """Return the account called `username`, or None."""
    return db.session.scalar(sa.select(User).where(User.username == username))


def users_by_id(ids) -> dict[int, User]:
    """Return {id: user} for the given user ids (history pages name who did what)."""
    ids = sorted(set(ids))
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
