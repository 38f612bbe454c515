"""The client address behind a reverse proxy: X-Forwarded-For counts only from configured, trusted proxies."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry import create_app
from registry.audit.models import AuditRecord
from registry.extensions import db
from tests import factories
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def app_with_proxies(app, database_url, tmp_path):
    """Build an app like the fixture's but with REGISTRY_TRUSTED_PROXIES=n (and optional extra settings)."""
    made = []

    def _make(hops: int, **extra):
        other = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                            "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "TRUSTED_PROXIES": hops,
                            "NOTICE_FILES_DIR": str(tmp_path / "notices"), "SEAL_FILES_DIR": str(tmp_path / "seals"),
                            **extra})
        made.append(other)
        return other
    yield _make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _login_ip(target_app, username: str, headers: dict) -> str:
    with target_app.app_context():
        factories.make_user("inspector", "zjj", username=username)
    resp = target_app.test_client().post("/login", data={"username": username, "password": TEST_PASSWORD},
                                         headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 302
    with target_app.app_context():
        return db.session.scalars(sa.select(AuditRecord.ip).where(AuditRecord.action == "login",
                                                                  AuditRecord.username == username)).one()


def test_forwarded_for_is_ignored_by_default(app):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert _login_ip(app, "direct", {"X-Forwarded-For": "203.0.113.7"}) == "127.0.0.1"


def test_forwarded_for_is_honoured_from_one_trusted_proxy(app_with_proxies):
    behind_nginx = app_with_proxies(1)
    assert _login_ip(behind_nginx, "proxied", {"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"
    # A client-sent X-Forwarded-For is kept by nginx on the left; only the address nginx appended counts.
    assert _login_ip(behind_nginx, "spoofer", {"X-Forwarded-For": "10.9.9.9, 198.51.100.4"}) == "198.51.100.4"
    # Without the header (a request that did not come through the proxy) the socket address stays.
    assert _login_ip(behind_nginx, "no-header", {}) == "127.0.0.1"


def test_forwarded_proto_makes_https_urls_only_when_trusted(app, app_with_proxies):
    headers = {"X-Forwarded-Proto": "https"}
    with app.test_request_context("/", headers=headers):
        from flask import request
        assert request.scheme == "http"
    behind_nginx = app_with_proxies(1)
    seen = {}

    @behind_nginx.route("/_scheme_probe")
    def _probe():
        from flask import request
        seen["scheme"] = request.scheme
        return ""
    from registry.accounts import security
    security.PUBLIC_ENDPOINTS.add("_probe")
    try:
        behind_nginx.test_client().get("/_scheme_probe", headers=headers)
    finally:
        security.PUBLIC_ENDPOINTS.discard("_probe")
    assert seen["scheme"] == "https"


def test_verify_rate_limit_counts_each_forwarded_client_separately(app_with_proxies):
    limited = app_with_proxies(1, RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    first = [client.get("/verify/probe", headers={"X-Forwarded-For": "203.0.113.1"}).status_code for _ in range(3)]
    other = client.get("/verify/probe", headers={"X-Forwarded-For": "203.0.113.2"}).status_code
    assert first == [404, 404, 429] and other == 404


def test_negative_proxy_count_is_refused(database_url):
    with pytest.raises(ValueError):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "TRUSTED_PROXIES": -1})
