"""Login and sessions: forced and periodic password change, lock-out, idle logout, logout reuse,
cookie flags, security headers."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from registry.accounts.models import ApiToken, User
from registry.audit.models import AuditRecord
from registry.extensions import db
from tests import factories
from registry.accounts.services import LOGIN_FAILED
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "Brand-New-Passw0rd"


def _actions(app, action=None):
    with app.app_context():
        q = sa.select(AuditRecord).order_by(AuditRecord.id)
        if action:
            q = q.where(AuditRecord.action == action)
        return list(db.session.scalars(q))


def _form_login(client, username, password=TEST_PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def test_first_login_forces_a_password_change_everywhere(app, client):
    with app.app_context():
        factories.make_user("maintainer", "zjj", username="first", must_change_password=True)
    assert _form_login(client, "first").status_code == 302
    for method, path in (("GET", "/"), ("GET", "/account/tokens"), ("POST", "/account/tokens"),
                         ("POST", "/account/tokens/1/revoke")):
        resp = client.open(path, method=method, data={"name": "x"} if method == "POST" else None)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password"), path
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    page = client.get("/account/password").get_data(as_text=True)
    assert "首次登录或密码被重置后，须先修改密码" in page
    resp = client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "first"))
        assert not user.must_change_password
    assert [r.outcome for r in _actions(app, "password.change")] == ["success"]


def test_api_is_refused_while_a_password_change_is_pending(app, client):
    with app.app_context():
        factories.make_user("taskforce", None, username="pending", must_change_password=True)
    _form_login(client, "pending")
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 403 and "修改密码" in resp.json["message"]


def test_password_change_rejects_weak_or_mismatched_passwords_and_changes_nothing(app, client, login):
    user_id = login("inspector", "zjj")
    with app.app_context():
        before = db.session.get(User, user_id).password_hash
    for data, message in (
        ({"current": "wrong", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "当前密码不正确"),
        ({"current": TEST_PASSWORD, "new": "short1A!", "confirm": "short1A!"}, "密码长度至少 10 位"),
        ({"current": TEST_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "两次输入的新密码不一致"),
        ({"current": TEST_PASSWORD, "new": TEST_PASSWORD, "confirm": TEST_PASSWORD}, "不能与当前密码相同"),
    ):
        resp = client.post("/account/password", data=data)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).password_hash == before
    assert {r.outcome for r in _actions(app, "password.change")} == {"failure"}


def test_password_change_ends_other_sessions(app, client, login):
    login("taskforce", None, username="twice")
    other = app.test_client()
    assert _form_login(other, "twice").status_code == 302
    assert other.get("/").status_code == 200
    client.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client.get("/").status_code == 200  # this session was re-issued
    assert other.get("/").status_code == 302  # the other one is over


def test_periodic_password_change_follows_the_policy(app, client, login):
    user_id = login("taskforce", None)
    with app.app_context():
        user = db.session.get(User, user_id)
        user.password_changed_at = datetime.now(timezone.utc) - timedelta(days=91)
        db.session.commit()
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    assert "90 天未修改" in client.get("/account/password").get_data(as_text=True)
    # The security administrator lengthens the period: the same password is fine again.
    with app.app_context():
        from registry.accounts.models import SecurityPolicy
        db.session.add(SecurityPolicy(key="PASSWORD_MAX_AGE_DAYS", value=120))
        db.session.commit()
    assert client.get("/").status_code == 200


def test_lockout_after_five_failures_for_thirty_minutes(app, client):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="victim")
    for _ in range(5):
        resp = _form_login(client, "victim", "bad")
        assert resp.status_code == 401 and LOGIN_FAILED in resp.get_data(as_text=True)
    # Even the right password is refused while locked, with the very same answer.
    resp = _form_login(client, "victim")
    assert resp.status_code == 401 and LOGIN_FAILED in resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "victim"))
        locked = user.locked_until if user.locked_until.tzinfo else user.locked_until.replace(tzinfo=timezone.utc)
        assert timedelta(minutes=29) < locked - datetime.now(timezone.utc) <= timedelta(minutes=30)
        user.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)  # time passes
        db.session.commit()
    assert _form_login(client, "victim").status_code == 302
    outcomes = [r.outcome for r in _actions(app, "login")]
    assert outcomes == ["failure"] * 5 + ["denied", "success"]
    assert len(_actions(app, "user.lock")) == 1


def test_lockout_threshold_comes_from_the_security_policy(app, client):
    with app.app_context():
        from registry.accounts.models import SecurityPolicy
        db.session.add(SecurityPolicy(key="LOGIN_MAX_ATTEMPTS", value=3))
        db.session.add(SecurityPolicy(key="LOGIN_LOCKOUT_MINUTES", value=10))
        db.session.commit()
        factories.make_user("inspector", "zjj", username="victim3")
    for _ in range(3):
        _form_login(client, "victim3", "bad")
    assert _form_login(client, "victim3").status_code == 401  # locked after 3
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "victim3"))
        locked = user.locked_until if user.locked_until.tzinfo else user.locked_until.replace(tzinfo=timezone.utc)
        assert timedelta(minutes=9) < locked - datetime.now(timezone.utc) <= timedelta(minutes=10)


def test_unknown_user_and_bad_password_get_the_same_message(app, client):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="known")
    a = _form_login(client, "known", "bad").get_data(as_text=True)
    b = _form_login(client, "nobody", "bad").get_data(as_text=True)
    assert "用户名或密码错误" in a and "用户名或密码错误" in b


def _answer(resp) -> tuple[int, str]:
    """Status and page of a login answer, with the per-response CSRF token taken out."""
    import re
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", resp.get_data(as_text=True))
    return resp.status_code, re.sub(r'(name="username"[^>]*value=")[^"]*"', r"\1", page)  # the name typed is echoed


def test_locked_deactivated_and_unknown_accounts_answer_identically(app, monkeypatch):
    """Issue #17 item 12: nothing in the answer (message, status, Argon2 work) tells which accounts exist."""
    from registry.accounts import services
    with app.app_context():
        locked = factories.make_user("inspector", "zjj", username="locked-one")
        locked.locked_until = datetime.now(timezone.utc) + timedelta(minutes=20)
        factories.make_user("inspector", "zjj", username="gone").active = False
        factories.make_user("inspector", "zjj", username="plain")
        db.session.commit()
        dummy = services._dummy_hash()
    verified = []
    real_verify = services.verify_password
    monkeypatch.setattr(services, "verify_password", lambda h, p: verified.append(h) or real_verify(h, p))
    answers = {}
    for name, password, checked in (("locked-one", TEST_PASSWORD, "dummy"), ("locked-one", "bad", "dummy"),
                                    ("gone", TEST_PASSWORD, "real"), ("plain", "bad", "real"),
                                    ("nobody-here", "bad", "dummy")):
        before = len(verified)
        answers[(name, password)] = _answer(_form_login(app.test_client(), name, password))
        assert len(verified) == before + 1, name  # exactly one Argon2 verification, whoever it is
        # A locked account's own hash is never checked: the lock is not a password oracle either.
        assert (verified[-1] == dummy) == (checked == "dummy"), name
    assert len(set(answers.values())) == 1, answers.keys()
    status, page = next(iter(answers.values()))
    assert status == 401 and services.LOGIN_FAILED in page


def test_concurrent_wrong_passwords_get_at_most_max_attempts_checks(app, monkeypatch):
    """Issue #17 item 10: 40 simultaneous wrong passwords reach the password check at most 5 times."""
    import threading
    from registry.accounts import services
    with app.app_context():
        user = factories.make_user("inspector", "zjj", username="raced")
        real_hash = user.password_hash
    checks = []
    lock = threading.Lock()
    real_verify = services.verify_password

    def counting_verify(password_hash, password):
        if password_hash == real_hash:
            with lock:
                checks.append(password)
        return real_verify(password_hash, password)
    monkeypatch.setattr(services, "verify_password", counting_verify)
    # Refused attempts verify against the dummy hash: give it the test users' cheap parameters, so 35
    # threads do not each run a 64 MiB Argon2 on this 2-core machine (this test counts checks, not time).
    monkeypatch.setattr(services, "_dummy_hash", lambda: factories.make_cheap_hash("not the password"))
    n = 40
    barrier = threading.Barrier(n)
    codes: list = [None] * n

    def attempt(i):
        barrier.wait()
        try:
            codes[i] = _form_login(app.test_client(), "raced", f"wrong-{i}").status_code
        except Exception as exc:  # noqa: BLE001 - a 500 shows up here under TESTING
            codes[i] = exc
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert codes == [401] * n, [c for c in codes if c != 401][:3]
    assert len(checks) == 5  # the limit, not one per request
    with app.app_context():
        locked = db.session.scalar(sa.select(User).where(User.username == "raced"))
        assert locked.is_locked
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.action == "user.lock")) == 1
        outcomes = db.session.scalars(sa.select(AuditRecord.outcome).where(AuditRecord.action == "login")).all()
        assert sorted(outcomes) == sorted(["failure"] * 5 + ["denied"] * 35)
    # Still locked: the right password now gets the same refusal, without a check.
    assert _form_login(app.test_client(), "raced").status_code == 401 and len(checks) == 5


def test_idle_session_is_logged_out(app, client, login):
    user_id = login("inspector", "zjj")
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 31 * 60
    resp = client.get("/")
    assert resp.status_code == 302 and "expired=1" in resp.headers["Location"]
    assert client.get("/").status_code == 302  # really logged out
    idle = [r for r in _actions(app, "logout") if r.details and "idle" in r.details]
    assert len(idle) == 1 and idle[0].user_id == user_id


def test_activity_within_the_idle_limit_keeps_the_session(client, login):
    login("inspector", "zjj")
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 29 * 60
    assert client.get("/").status_code == 200


def test_a_session_cookie_reused_after_logout_is_refused_and_audited(app, client, login):
    user_id = login("maintainer", "zjj")
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    resp = attacker.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    rejected = _actions(app, "session.rejected")
    assert rejected and rejected[-1].user_id == user_id and rejected[-1].outcome == "denied"


def test_deactivated_users_sessions_stop(app, client, login):
    user_id = login("maintainer", "zjj")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_cookie_flags(app, client):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="cookie")
    resp = _form_login(client, "cookie")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # off by default for plain-HTTP intranets


def test_secure_cookie_flag_is_configurable(database_url):
    from registry import create_app
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    resp = app.test_client().get("/login")
    assert "Secure" in resp.headers["Set-Cookie"]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # this app is not the fixture's: close its connections here


def test_security_headers_on_every_page(client, login):
    for resp in (client.get("/login"), client.get("/healthz")):
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    login("taskforce", None)
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_script_or_style(client, login_as):
    import re
    for role, path in (("sysadmin", "/admin/users/new"), ("secadmin", "/security/policy"),
                       ("auditor", "/audit/"), ("maintainer", "/account/tokens"), ("maintainer", "/account/password")):
        c = client
        with c.session_transaction() as sess:
            sess.clear()
        login_as(role)
        html = c.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html and " on" + "click=" not in html, path


def test_open_redirect_after_login_is_refused(app, client):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="redir")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        resp = client.post("/login?next=" + target, data={"username": "redir", "password": TEST_PASSWORD})
        assert resp.headers["Location"] == "/"


# Each of these is another site once a browser has normalised it (tab/CR/LF removed, controls and spaces
# trimmed, backslash read as slash); issue #17 item 2 was the first one.
OFFSITE_NEXT = ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "%20//evil.example",
                "/%5C/evil.example", "%5C%5Cevil.example", "/%09%5Cevil.example",
                "java%09script:alert(1)", "https:evil.example", "%0Ahttps://evil.example", "//%09evil.example",
                "evil.example", "%C2%85//evil.example"]


def test_next_with_a_control_character_is_refused_before_login(app, client):
    # The request gate refuses C0 controls other than tab/CR/LF in any request text (issue #17 item 4).
    with app.app_context():
        factories.make_user("inspector", "zjj", username="redir3")
    resp = client.post("/login?next=%01//evil.example", data={"username": "redir3", "password": TEST_PASSWORD})
    assert resp.status_code == 422 and "Location" not in resp.headers


@pytest.mark.parametrize("target", OFFSITE_NEXT)
def test_next_that_a_browser_reads_as_another_site_goes_home(app, client, target):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="redir2")
    resp = client.post("/login?next=" + target, data={"username": "redir2", "password": TEST_PASSWORD})
    assert resp.status_code == 302, resp.status_code  # never a 500 (a raw newline in Location used to be one)
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("target,location", [
    ("/assets/c/elevator?page=2", "/assets/c/elevator?page=2"),
    ("%09/rules/", "/rules/"),
    ("/rules/%E8%A7%84%E5%88%99", "/rules/%E8%A7%84%E5%88%99"),
])
def test_same_site_next_is_kept_in_its_normalised_form(app, client, target, location):
    with app.app_context():
        factories.make_user("inspector", "zjj", username="redir3")
    resp = client.post("/login?next=" + target, data={"username": "redir3", "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == location


def test_a_rejected_cookie_is_forgotten_so_the_refusal_is_logged_once(app, client, login):
    login("maintainer", "zjj")
    stolen = client.get_cookie("session").value
    client.post("/logout")
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    for _ in range(3):
        assert attacker.get("/").status_code == 302
    assert len(_actions(app, "session.rejected")) == 1


def test_idle_logout_on_one_machine_leaves_other_sessions_alone(app, client, login):
    login("taskforce", None, username="two-machines")
    other = app.test_client()
    _form_login(other, "two-machines")
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 31 * 60
    assert client.get("/").status_code == 302
    assert other.get("/").status_code == 200
