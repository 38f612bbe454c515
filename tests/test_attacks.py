"""Forged or missing CSRF tokens on every form, and oversized bodies: clean refusal, audit entry, no change."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.accounts.access import allowed_roles_for
from registry.audit.models import AuditRecord
from registry.extensions import db
from tests.scoping_helpers import business_digest
from tests.test_route_roles import _LISTING_APP, _url

ACCOUNT_TABLES = ("users", "api_tokens", "security_policy") + ("assets", "asset_changes")
POST_ROUTES = [(rule, method) for rule in _LISTING_APP.url_map.iter_rules() for method in sorted(rule.methods)
               if method in ("POST", "PUT", "PATCH", "DELETE") and not rule.rule.startswith("/api/")]


def _count(app, action):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.action == action))


@pytest.mark.parametrize("rule,method", POST_ROUTES, ids=[f"{m} {r.rule}" for r, m in POST_ROUTES])
def test_every_form_refuses_a_missing_or_forged_csrf_token(app, client, login_as, rule, method):
    app.config["WTF_CSRF_ENABLED"] = True
    roles = allowed_roles_for(app.view_functions[rule.endpoint], method)
    if roles:  # public forms (login) are tested anonymously
        login_as(sorted(r.value for r in roles)[0])
    with app.app_context():
        before = business_digest(ACCOUNT_TABLES)
    rejected = _count(app, "csrf.rejected")
    for data in ({"name": "x", "role": "sysadmin"}, {"csrf_token": "forged.token.value", "name": "x"}):
        resp = client.open(_url(rule), method=method, data=data)
        assert resp.status_code == 400, resp.status_code
        assert "安全令牌（CSRF）" in resp.get_data(as_text=True)
    assert _count(app, "csrf.rejected") == rejected + 2
    with app.app_context():
        assert business_digest(ACCOUNT_TABLES) == before


def test_the_real_token_from_the_page_is_accepted(app, client, login_as):
    import re
    app.config["WTF_CSRF_ENABLED"] = True
    login_as("maintainer")
    page = client.get("/account/tokens").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/account/tokens", data={"csrf_token": token, "name": "ok"}).status_code == 200


def test_a_token_from_another_session_is_refused(app, client, login_as):
    import re
    app.config["WTF_CSRF_ENABLED"] = True
    other = app.test_client()
    stolen = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                       other.get("/login").get_data(as_text=True)).group(1)
    login_as("maintainer")
    assert client.post("/account/tokens", data={"csrf_token": stolen, "name": "x"}).status_code == 400


@pytest.mark.parametrize("path,role", [("/login", None), ("/account/tokens", "maintainer"),
                                       ("/security/policy", "secadmin")])
def test_oversized_bodies_get_a_chinese_413_and_an_audit_entry(app, client, login_as, path, role):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if role:
        login_as(role)
    with app.app_context():
        before = business_digest(ACCOUNT_TABLES)
    resp = client.post(path, data={"name": "x" * (200 * 1024), "username": "a", "password": "b"})
    assert resp.status_code == 413
    assert "提交的内容过大" in resp.get_data(as_text=True)
    assert _count(app, "request.too_large") == 1
    with app.app_context():
        assert business_digest(ACCOUNT_TABLES) == before


def test_oversized_api_body_gets_json_413(app, client, login_as):
    from tests.test_tokens import Probe
    app.add_url_rule("/api/v1/_probe", view_func=Probe.as_view("probe"))
    app.config.update(MAX_CONTENT_LENGTH=1024, WTF_CSRF_ENABLED=True)
    login_as("maintainer")
    resp = client.post("/api/v1/_probe", data={"x": "y" * 4096})
    assert resp.status_code == 413 and resp.json["code"] == 413 and "过大" in resp.json["message"]
    assert _count(app, "probe.write") == 0 and _count(app, "request.too_large") == 1
