"""Per-address limits kept in the database (login attempts, API token failures, anonymous audit records).

The default test configuration runs with RATELIMIT_ENABLED False; every test here switches it on.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from registry import throttle
from registry.accounts import tokens
from registry.throttle import AddressThrottle
from registry.audit.integrity import verify
from registry.audit.models import AuditRecord
from registry.extensions import db
from tests import factories
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def limited(app):
    """The app with the per-address limits switched on and set low."""
    app.config.update(RATELIMIT_ENABLED=True, LOGIN_ADDRESS_LIMIT="3 per 10 minutes",
                      TOKEN_FAILURE_LIMIT="4 per 10 minutes", ANONYMOUS_AUDIT_LIMIT="5 per 10 minutes")
    return app


def _from(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, username, password="wrong-password"):
    return client.post("/login", data={"username": username, "password": password})


def _count(app, action, outcome=None):
    with app.app_context():
        q = sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == action)
        if outcome:
            q = q.where(AuditRecord.outcome == outcome)
        return db.session.scalar(q)


def test_failed_logins_per_address_are_limited_across_accounts(limited, monkeypatch):
    from registry.accounts import services
    with limited.app_context():
        factories.make_user("inspector", "zjj", username="known-a")
    checks = []
    real = services.authenticate
    monkeypatch.setattr(services, "authenticate", lambda *a: checks.append(a[0]) or real(*a))
    attacker = _from(limited, "10.0.0.1")
    assert [_login(attacker, name).status_code for name in ("known-a", "nobody-1", "nobody-2")] == [401] * 3
    refused = _login(attacker, "known-a", TEST_PASSWORD)  # even the right password, once the address is over
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    for _ in range(5):
        assert _login(attacker, "nobody-3").status_code == 429
    assert len(checks) == 3  # refused attempts never reach the password check
    assert _login(_from(limited, "10.0.0.2"), "known-a", TEST_PASSWORD).status_code == 302  # others unaffected
    assert _count(limited, "login.throttled") == 1  # one record per address and window, not one per refusal


def test_successful_logins_do_not_use_up_the_address_limit(limited):
    with limited.app_context():
        names = [factories.make_user("inspector", "zjj").username for _ in range(6)]
    office = _from(limited, "10.0.0.9")  # a whole office behind one NAT address
    assert [_login(office, name, TEST_PASSWORD).status_code for name in names] == [302] * 6
    assert [_login(office, "typo").status_code for _ in range(3)] == [401] * 3
    assert _login(office, "typo").status_code == 429


def test_concurrent_attempts_from_one_address_respect_the_limit(limited, monkeypatch):
    """The counter is one atomic upsert: 20 simultaneous attempts, a limit of 5, exactly 5 get checked."""
    from registry.accounts import services
    limited.config["LOGIN_ADDRESS_LIMIT"] = "5 per 10 minutes"
    monkeypatch.setattr(services, "_dummy_hash", lambda: factories.make_cheap_hash("x"))
    lock = threading.Lock()
    checks = []
    real = services.authenticate

    def counting(*args):
        with lock:
            checks.append(args[0])
        return real(*args)
    monkeypatch.setattr(services, "authenticate", counting)
    n = 20
    barrier = threading.Barrier(n)
    codes: list = [None] * n

    def attempt(i):
        barrier.wait()
        try:
            codes[i] = _login(_from(limited, "10.0.0.3"), f"nobody-{i}").status_code
        except Exception as exc:  # noqa: BLE001
            codes[i] = exc
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes, key=str) == [401] * 5 + [429] * 15, codes
    assert len(checks) == 5
    with limited.app_context():
        assert db.session.scalar(sa.select(AddressThrottle.hits).where(AddressThrottle.scope == "login")) == n
        assert verify().ok


def test_token_failures_are_limited_and_audited_as_one_record(limited):
    with limited.app_context():
        user = factories.make_user("maintainer", "zjj")
        _row, good = tokens.create_token(user, "script")
    attacker = _from(limited, "10.0.0.4")
    codes = [attacker.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer xzr_guess{i}"}).status_code
             for i in range(10)]
    assert codes == [401] * 4 + [429] * 6
    refused = attacker.get("/api/v1/openapi.json", headers={"Authorization": "Bearer xzr_more"})
    assert refused.status_code == 429 and "令牌认证失败次数过多" in refused.json["message"]
    assert "Retry-After" in refused.headers
    # The address is throttled, whatever token it sends; another address is not.
    assert attacker.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {good}"}).status_code == 429
    assert _from(limited, "10.0.0.5").get("/api/v1/openapi.json",
                                          headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert _count(limited, "login", "failure") == 1  # the first failure of the window...
    assert _count(limited, "token.throttled") == 1  # ...and one record when the limit was reached


def test_failed_token_details_are_cut_short(limited):
    long_path = "/api/v1/" + "x" * 5000
    assert _from(limited, "10.0.0.6").get(long_path, headers={"Authorization": "Bearer xzr_nope"}).status_code == 401
    with limited.app_context():
        details = db.session.scalar(sa.select(AuditRecord.details).where(AuditRecord.action == "login"))
    assert len(details) < 600 and "x" * 180 in details and "x" * 200 not in details


def test_unauthenticated_refusals_are_bounded_in_the_audit_log(limited):
    limited.config["WTF_CSRF_ENABLED"] = True
    stranger = _from(limited, "10.0.0.7")
    for _ in range(12):
        assert stranger.post("/login", data={"username": "a", "password": "b"}).status_code == 400
    assert _count(limited, "csrf.rejected") == 5
    assert _count(limited, "audit.suppressed") == 1
    # Another address has its own budget.
    assert _from(limited, "10.0.0.8").post("/login", data={}).status_code == 400
    assert _count(limited, "csrf.rejected") == 6
    with limited.app_context():
        assert verify().ok


def test_a_signed_in_users_refusals_are_always_recorded(limited, client, login_as):
    limited.config["WTF_CSRF_ENABLED"] = True
    login_as("maintainer")
    for _ in range(8):
        assert client.post("/account/tokens", data={"name": "x"}).status_code == 400
    assert _count(limited, "csrf.rejected") == 8 and _count(limited, "audit.suppressed") == 0


def test_limits_are_off_when_rate_limiting_is(app):
    assert app.config["RATELIMIT_ENABLED"] is False
    client = _from(app, "10.0.0.10")
    assert {_login(client, f"nobody-{i}").status_code for i in range(40)} == {401}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AddressThrottle)) == 0


@pytest.mark.parametrize("raw,key", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same subscriber
    ("::ffff:198.51.100.7", "198.51.100.7"),
    (None, "unknown"),
    ("not-an-address", "not-an-address"),
])
def test_addresses_are_counted_per_host_or_ipv6_64(raw, key):
    assert throttle.address_key(raw) == key
