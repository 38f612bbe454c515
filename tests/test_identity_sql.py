"""A request's identity and permissions cost at most 3 SQL statements, by session cookie or by API token.

Identity statements are every statement run before the view (user, department and its categories,
security policy, token, the gates) plus any statement on users, api_tokens, security_policy,
departments or department_categories afterwards (a view or template reloading the identity).
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import g

from registry.accounts import tokens
from registry.accounts.models import ApiToken
from registry.enums import Category
from registry.extensions import db
from tests import factories

# The statement's first FROM names its table: a list's scalar subquery on departments is not an identity read.
IDENTITY_TABLES = re.compile(
    r"^\s*(SELECT\b(?:(?!\bFROM\b).)*\bFROM|UPDATE|INSERT INTO|DELETE FROM)\s+\"?"
    r"(users|api_tokens|security_policy|departments|department_categories)\b", re.S | re.I)


@contextmanager
def identity_statements(app):
    """Yield a list filled with the identity statements of the requests made inside the block."""
    found: list[str] = []

    def on_execute(_conn, _cursor, statement, _params, _context, _many):
        if not g.get("_view_started", False) or IDENTITY_TABLES.match(statement):
            found.append(" ".join(statement.split())[:400])

    def mark():
        g._view_started = True

    # Appended directly: the last before-request hook, after the login, idle, password and role gates.
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(mark)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        hooks.remove(mark)


@pytest.fixture
def inventory(app):
    """One elevator of 住建局 (the maintainer's department) and its id."""
    with app.app_context():
        return factories.make_asset(Category.ELEVATOR).id


@pytest.mark.parametrize("path", ["/assets/c/elevator", "/assets/c/elevator?township=龙湖镇", "asset",
                                  "/api/v1/assets?category=elevator"])
def test_a_logged_in_page_loads_its_identity_in_three_statements(app, client, login, inventory, path):
    login("maintainer", "zjj")
    path = f"/assets/{inventory}" if path == "asset" else path
    client.get(path)  # first request after login: the same work, but measured on a steady session below
    with identity_statements(app) as found:
        resp = client.get(path)
    assert resp.status_code == 200
    # The page still knows the department and its categories (the new-asset button needs both).
    if path == "/assets/c/elevator":
        assert "+ 登记新设备" in resp.get_data(as_text=True)
    assert 1 <= len(found) <= 3, found


def test_an_api_token_request_loads_its_identity_in_three_statements_even_when_it_records_use(app, client, inventory):
    with app.app_context():
        user = factories.make_user("maintainer", "zjj")
        row, plain = tokens.create_token(user, "script")
        token_id = row.id
    headers = {"Authorization": f"Bearer {plain}"}
    # First use writes last_used_at: the write must not make the request reload the user it just read.
    with identity_statements(app) as found:
        resp = client.get(f"/api/v1/assets/{inventory}", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert 1 <= len(found) <= 3, found
    assert any(s.upper().startswith("UPDATE API_TOKENS") for s in found), found
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is not None
    # Within the minute the token is only read.
    with identity_statements(app) as found:
        resp = client.get("/api/v1/assets?category=elevator", headers=headers)
    assert resp.status_code == 200
    assert resp.get_json()["items"][0]["id"] == inventory
    assert 1 <= len(found) <= 3, found
    assert not any(s.upper().startswith("UPDATE") for s in found), found


def test_the_asset_page_reads_the_asset_with_its_extra_attributes_in_one_statement(app, client, login):
    with app.app_context():
        asset_id = factories.make_asset(Category.ELEVATOR, extra={"维保单位": "新郑市恒安电梯工程有限公司"}).id
    login("maintainer", "zjj")
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_execute(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        resp = client.get(f"/assets/{asset_id}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
    assert resp.status_code == 200 and "新郑市恒安电梯工程有限公司" in resp.get_data(as_text=True)
    assert not [s for s in seen if s.startswith("SELECT assets.extra")], "extra loaded by a second statement"


@pytest.mark.parametrize("path", ["/assets/c/elevator", "asset", "/api/v1/assets?category=elevator"])
def test_a_steady_request_reads_its_user_and_the_security_policy_in_one_statement(app, client, login, inventory,
                                                                                   path):
    login("maintainer", "zjj")
    path = f"/assets/{inventory}" if path == "asset" else path
    client.get(path)
    with identity_statements(app) as found:
        assert client.get(path).status_code == 200
    assert len(found) == 1, found
    assert "security_policy" in found[0], found


def test_a_token_request_follows_the_stored_policy_read_with_its_token(app, client, inventory):
    from datetime import datetime, timedelta, timezone

    from registry.accounts.models import SecurityPolicy, User
    with app.app_context():
        user = factories.make_user("maintainer", "zjj")
        user.password_changed_at = datetime.now(timezone.utc) - timedelta(days=100)
        db.session.commit()
        user_id = user.id
        _row, plain = tokens.create_token(db.session.get(User, user_id), "script")
    headers = {"Authorization": f"Bearer {plain}"}
    resp = client.get(f"/api/v1/assets/{inventory}", headers=headers)
    assert resp.status_code == 403 and "90 天" in resp.get_json()["message"], resp.get_data(as_text=True)
    # The security administrator lengthens the period: the next token request reads the new value.
    with app.app_context():
        db.session.add(SecurityPolicy(key="PASSWORD_MAX_AGE_DAYS", value=120))
        db.session.commit()
    with identity_statements(app) as found:
        assert client.get(f"/api/v1/assets/{inventory}", headers=headers).status_code == 200
    assert len(found) == 1, found
