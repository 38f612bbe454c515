"""Account management by the system administrator, and the security administrator's policy page."""
from __future__ import annotations

import re

import sqlalchemy as sa

from registry.accounts.models import ApiToken, SecurityPolicy, User
from registry.accounts.passwords import verify_password
from registry.audit.models import AuditRecord
from registry.enums import Role
from registry.extensions import db
from tests import factories


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                  .order_by(AuditRecord.id)).all()


def _user(app, username):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.username == username))


def test_sysadmin_lists_and_creates_accounts_with_a_one_time_password(app, client, login_as):
    login_as("sysadmin")
    resp = client.post("/admin/users/new", data={"username": "li.ming", "display_name": "李明",
                                                 "role": "maintainer", "department": "nync"})
    assert resp.status_code == 201
    password = re.search(r'<pre class="token">([^<]+)</pre>', resp.get_data(as_text=True)).group(1)
    user = _user(app, "li.ming")
    assert user.role is Role.MAINTAINER and user.must_change_password
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, password)
        assert user.department_id is not None
    assert "li.ming" in client.get("/admin/users/").get_data(as_text=True)
    assert _audit(app, "user.create")[0].object_id == str(user.id)


def test_create_rejects_bad_input_in_chinese_and_writes_nothing(app, client, login_as):
    login_as("sysadmin")
    with app.app_context():
        factories.make_user("inspector", "zjj", username="taken")
    for data, message in (
        ({"username": "taken", "role": "inspector", "department": "zjj"}, "已存在"),
        ({"username": "m1", "role": "maintainer", "department": ""}, "必须指定所属部门"),
        ({"username": "m2", "role": "superuser"}, "角色「superuser」不存在"),
        ({"username": "m3", "role": "maintainer", "department": "nope"}, "部门代码「nope」不存在"),
        ({"username": "", "role": "taskforce"}, "请填写用户名"),
    ):
        resp = client.post("/admin/users/new", data=data)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), data
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_admin_roles_are_never_granted_silently(app, client, login_as):
    login_as("sysadmin")
    resp = client.post("/admin/users/new", data={"username": "aud", "role": "auditor"})
    assert resp.status_code == 422 and "须勾选确认" in resp.get_data(as_text=True)
    assert _user(app, "aud") is None
    resp = client.post("/admin/users/new", data={"username": "aud", "role": "auditor", "confirm_admin": "y"})
    assert resp.status_code == 201
    grant = _audit(app, "user.grant_admin_role")
    assert len(grant) == 1 and '"privileged": true' in grant[0].details


def test_sysadmin_cannot_change_its_own_role_refused_and_audited(app, client, login_as):
    me = login_as("sysadmin")
    resp = client.post(f"/admin/users/{me}", data={"role": "auditor", "confirm_admin": "y"})
    assert resp.status_code == 403
    with app.app_context():
        assert db.session.get(User, me).role is Role.SYSADMIN
    refused = _audit(app, "privilege.escalation")
    assert refused and refused[0].outcome == "denied"


def test_role_change_of_another_user_is_audited_with_before_and_after(app, client, login_as):
    login_as("sysadmin")
    with app.app_context():
        target = factories.make_user("inspector", "zjj").id
    resp = client.post(f"/admin/users/{target}", data={"role": "maintainer", "department": "wjw"})
    assert resp.status_code == 302
    rec = _audit(app, "user.change_role")[0]
    assert '"before": {"department": "zjj", "role": "inspector"}' in rec.details
    assert '"after": {"department": "wjw", "role": "maintainer"}' in rec.details


def test_non_sysadmin_cannot_use_the_account_pages(app, client, login_as):
    login_as("secadmin")
    with app.app_context():
        target = factories.make_user("inspector", "zjj").id
    assert client.post(f"/admin/users/{target}", data={"role": "sysadmin", "confirm_admin": "y"}).status_code == 403
    assert client.post("/admin/users/new", data={"username": "x", "role": "sysadmin",
                                                 "confirm_admin": "y"}).status_code == 403
    with app.app_context():
        assert db.session.get(User, target).role is Role.INSPECTOR
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_role_escalation_through_a_self_service_form_field(app, client, login_as):
    me = login_as("maintainer")
    for path, data in (("/account/password", {"current": "x", "new": "y", "confirm": "y", "role": "sysadmin"}),
                       ("/account/tokens", {"name": "t", "role": "sysadmin"}),
                       ("/account/tokens", {"name": "t", "department_id": "2"})):
        resp = client.post(path, data=data)
        assert resp.status_code == 400 and "不允许提交的字段" in resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, me)
        assert user.role is Role.MAINTAINER and user.department.code == "zjj"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert len(_audit(app, "privilege.escalation")) == 3


def test_deactivate_needs_a_reason_never_deletes_and_ends_sessions(app, client, login_as):
    login_as("sysadmin")
    with app.app_context():
        target = factories.make_user("inspector", "zjj", username="leaver")
        target_id = target.id
    victim = app.test_client()
    from tests.conftest import session_login
    with app.app_context():
        session_login(victim, db.session.get(User, target_id))
    assert victim.get("/").status_code == 200
    resp = client.post(f"/admin/users/{target_id}/active", data={"active": "0", "reason": ""})
    assert resp.status_code == 422 and "请填写停用原因" in resp.get_data(as_text=True)
    assert client.post(f"/admin/users/{target_id}/active", data={"active": "0", "reason": "调离"}).status_code == 302
    user = _user(app, "leaver")
    assert user is not None and not user.active and user.deactivation_reason == "调离"
    assert victim.get("/").status_code == 302
    assert victim.post("/login", data={"username": "leaver", "password": factories.TEST_PASSWORD}).status_code == 401
    assert client.post(f"/admin/users/{target_id}/active", data={"active": "1"}).status_code == 302
    assert _user(app, "leaver").active
    assert [r.action for r in _audit(app, "user.deactivate") + _audit(app, "user.reactivate")] == [
        "user.deactivate", "user.reactivate"]


def test_sysadmin_cannot_deactivate_itself(app, client, login_as):
    me = login_as("sysadmin")
    assert client.post(f"/admin/users/{me}/active", data={"active": "0", "reason": "x"}).status_code == 403
    with app.app_context():
        assert db.session.get(User, me).active


def test_reset_password_forces_a_change_and_unlocks(app, client, login_as):
    login_as("sysadmin")
    from datetime import datetime, timedelta, timezone
    with app.app_context():
        target = factories.make_user("inspector", "zjj", username="forgetful")
        target.locked_until = datetime.now(timezone.utc) + timedelta(minutes=20)
        db.session.commit()
        target_id = target.id
    resp = client.post(f"/admin/users/{target_id}/reset-password")
    password = re.search(r'<pre class="token">([^<]+)</pre>', resp.get_data(as_text=True)).group(1)
    user = _user(app, "forgetful")
    assert user.must_change_password and user.locked_until is None
    other = app.test_client()
    assert other.post("/login", data={"username": "forgetful", "password": password}).status_code == 302
    resp = other.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    assert _audit(app, "user.reset_password")


def test_security_admin_sets_the_policy_and_it_is_audited(app, client, login_as):
    login_as("secadmin")
    page = client.get("/security/policy").get_data(as_text=True)
    assert "空闲自动退出时间" in page and 'value="30"' in page
    data = {"PASSWORD_MIN_LENGTH": "12", "PASSWORD_MAX_AGE_DAYS": "60", "LOGIN_MAX_ATTEMPTS": "5",
            "LOGIN_LOCKOUT_MINUTES": "30", "SESSION_IDLE_MINUTES": "15"}
    assert client.post("/security/policy", data=data).status_code == 302
    with app.app_context():
        stored = dict(db.session.execute(sa.select(SecurityPolicy.key, SecurityPolicy.value)).all())
    assert stored == {"PASSWORD_MIN_LENGTH": 12, "PASSWORD_MAX_AGE_DAYS": 60, "SESSION_IDLE_MINUTES": 15}
    rec = _audit(app, "policy.update")[0]
    assert '"before": {"PASSWORD_MAX_AGE_DAYS": 90' in rec.details


def test_policy_refuses_values_below_the_baseline(app, client, login_as):
    login_as("secadmin")
    data = {"PASSWORD_MIN_LENGTH": "4", "PASSWORD_MAX_AGE_DAYS": "0", "LOGIN_MAX_ATTEMPTS": "abc",
            "LOGIN_LOCKOUT_MINUTES": "30", "SESSION_IDLE_MINUTES": "600"}
    resp = client.post("/security/policy", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "密码最小长度" in html and "须在 8–64 位之间" in html and "不是整数" in html and "空闲自动退出时间" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecurityPolicy)) == 0


def test_policy_idle_limit_applies_to_sessions(app, client, login_as):
    import time
    with app.app_context():
        db.session.add(SecurityPolicy(key="SESSION_IDLE_MINUTES", value=5))
        db.session.commit()
    login_as("taskforce")
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 6 * 60
    assert client.get("/").status_code == 302


def test_policy_min_length_applies_to_new_passwords(app, client, login_as):
    with app.app_context():
        db.session.add(SecurityPolicy(key="PASSWORD_MIN_LENGTH", value=14))
        db.session.commit()
    login_as("taskforce")
    resp = client.post("/account/password", data={"current": factories.TEST_PASSWORD, "new": "Abcdef-12345",
                                                  "confirm": "Abcdef-12345"})
    assert resp.status_code == 422 and "密码长度至少 14 位" in resp.get_data(as_text=True)


def _live_token(app, username: str) -> tuple[int, str]:
    """A user with one working API token (and one they had already revoked)."""
    from registry.accounts import tokens
    with app.app_context():
        user = factories.make_user("maintainer", "zjj", username=username, must_change_password=False)
        old, _ = tokens.create_token(user, "old")
        tokens.revoke_token(user, old.id)
        _row, plain = tokens.create_token(user, "script")
        return user.id, plain


def _token_works(app, plain: str) -> bool:
    resp = app.test_client().get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {plain}"})
    assert resp.status_code in (200, 401), resp.status_code
    return resp.status_code == 200


def _token_rows(app, user_id: int) -> list[ApiToken]:
    with app.app_context():
        return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user_id)
                                  .order_by(ApiToken.id)).all()


def test_deactivation_revokes_tokens_and_reactivation_does_not_bring_them_back(app, client, login_as):
    login_as("sysadmin")
    user_id, plain = _live_token(app, "tok-leaver")
    assert _token_works(app, plain)
    assert client.post(f"/admin/users/{user_id}/active", data={"active": "0", "reason": "调离"}).status_code == 302
    rows = _token_rows(app, user_id)
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)  # marked, never deleted
    assert not _token_works(app, plain)
    assert client.post(f"/admin/users/{user_id}/active", data={"active": "1"}).status_code == 302
    assert not _token_works(app, plain)
    assert '"tokens_revoked": 1' in _audit(app, "user.deactivate")[0].details


def test_password_reset_revokes_tokens(app, client, login_as):
    login_as("sysadmin")
    user_id, plain = _live_token(app, "tok-reset")
    assert _token_works(app, plain)
    assert client.post(f"/admin/users/{user_id}/reset-password").status_code == 200
    assert all(r.revoked_at is not None for r in _token_rows(app, user_id)) and len(_token_rows(app, user_id)) == 2
    assert not _token_works(app, plain)
    assert '"tokens_revoked": 1' in _audit(app, "user.reset_password")[0].details


def test_role_change_revokes_tokens(app, client, login_as):
    login_as("sysadmin")
    user_id, plain = _live_token(app, "tok-role")
    assert _token_works(app, plain)
    resp = client.post(f"/admin/users/{user_id}", data={"role": "inspector", "department": "zjj"})
    assert resp.status_code == 302
    assert all(r.revoked_at is not None for r in _token_rows(app, user_id)) and len(_token_rows(app, user_id)) == 2
    assert not _token_works(app, plain)
    assert '"tokens_revoked": 1' in _audit(app, "user.change_role")[0].details


def test_an_unchanged_role_keeps_the_tokens(app, client, login_as):
    login_as("sysadmin")
    user_id, plain = _live_token(app, "tok-same")
    assert client.post(f"/admin/users/{user_id}", data={"role": "maintainer", "department": "zjj"}).status_code == 302
    assert _token_works(app, plain)
