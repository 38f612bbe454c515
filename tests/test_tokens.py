"""Personal API tokens: shown once, hashed, revocable; bearer auth on /api/ only, same scoping as the web."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import jsonify
from flask.views import MethodView
from flask_login import current_user

from registry.accounts import tokens
from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.models import ApiToken, User
from registry.assets.models import Asset
from registry.assets.scoping import asset_scope
from registry.audit import services as audit
from registry.audit.models import AuditRecord
from registry.enums import Category, Role
from registry.extensions import db
from tests import factories


class Probe(MethodView):
    """A test-only API resource declared the way flask-smorest resources must be."""

    @roles_required(*BUSINESS_READERS)
    def get(self):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(asset_scope(current_user)))
        return jsonify(user=current_user.username, assets=count)

    @roles_required(Role.MAINTAINER)
    def post(self):
        audit.record("probe.write", object_type="probe")
        db.session.commit()
        return jsonify(ok=True), 201


@pytest.fixture
def api(app):
    """The app with a /api/v1/_probe resource (GET for readers, POST for maintainers)."""
    app.add_url_rule("/api/v1/_probe", view_func=Probe.as_view("probe"))
    with app.app_context():
        factories.make_asset(Category.ELEVATOR)
        factories.make_asset(Category.OFFICIAL_CAR)
    return app


def _token_for(app, role="maintainer", dept="zjj", username=None):
    with app.app_context():
        user = factories.make_user(role, dept, username=username)
        _row, plain = tokens.create_token(user, "script")
        return plain, user.id


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_page_shows_the_token_once_and_stores_only_its_hash(app, client, login):
    login("maintainer", "zjj")
    resp = client.post("/account/tokens", data={"name": "报表脚本"})
    html = resp.get_data(as_text=True)
    plain = re.search(r"(xzr_[A-Za-z0-9_\-]+)", html).group(1)
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        assert row.token_hash != plain and plain not in row.token_hash and len(row.token_hash) == 64
        assert row.name == "报表脚本"
    assert plain not in client.get("/account/tokens").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(AuditRecord.action).where(AuditRecord.action == "token.create")).one()


def test_bearer_token_authenticates_api_calls_with_web_scoping(api):
    token, _ = _token_for(api, "maintainer", "zjj", "tok-zjj")
    resp = api.test_client().get("/api/v1/_probe", headers=_bearer(token))
    assert resp.status_code == 200
    assert resp.json == {"user": "tok-zjj", "assets": 1}  # only 住建局's elevator, not the car
    assert "Set-Cookie" not in resp.headers  # a token call never opens a session
    taskforce, _ = _token_for(api, "taskforce", None)
    assert api.test_client().get("/api/v1/_probe", headers=_bearer(taskforce)).json["assets"] == 2


def test_token_roles_are_enforced_like_the_web(api):
    token, _ = _token_for(api, "inspector", "zjj")
    assert api.test_client().post("/api/v1/_probe", headers=_bearer(token)).status_code == 403
    admin, _ = _token_for(api, "auditor", None)
    assert api.test_client().get("/api/v1/_probe", headers=_bearer(admin)).status_code == 403


def test_bearer_token_is_ignored_outside_the_api(api):
    token, _ = _token_for(api)
    resp = api.test_client().get("/", headers=_bearer(token))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("header", ["Bearer xzr_forged", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer ' OR 1=1 --"])
def test_bad_tokens_get_401_and_are_audited(api, header):
    resp = api.test_client().get("/api/v1/_probe", headers={"Authorization": header})
    assert resp.status_code == 401 and resp.json["code"] == 401
    with api.app_context():
        rec = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "login")).one()
        assert rec.outcome == "failure" and "api token" in rec.details


def test_revoked_token_and_deactivated_owner_are_refused(api):
    token, user_id = _token_for(api)
    client = api.test_client()
    assert client.get("/api/v1/_probe", headers=_bearer(token)).status_code == 200
    with api.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        tokens.revoke_token(db.session.get(User, user_id), row.id)
    assert client.get("/api/v1/_probe", headers=_bearer(token)).status_code == 401
    token2, user_id = _token_for(api)
    with api.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert client.get("/api/v1/_probe", headers=_bearer(token2)).status_code == 401


def test_revoke_through_the_page_and_not_someone_elses(api, client, login):
    other_token, _ = _token_for(api)
    login("maintainer", "zjj")
    client.post("/account/tokens", data={"name": "mine"})
    with api.app_context():
        mine = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "mine"))
        theirs = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.id != mine))
    assert client.post(f"/account/tokens/{theirs}/revoke").status_code == 404
    assert api.test_client().get("/api/v1/_probe", headers=_bearer(other_token)).status_code == 200
    assert client.post(f"/account/tokens/{mine}/revoke").status_code == 302
    with api.app_context():
        assert db.session.get(ApiToken, mine).revoked_at is not None
        outcomes = db.session.scalars(sa.select(AuditRecord.outcome).where(AuditRecord.action == "token.revoke")
                                      .order_by(AuditRecord.id)).all()
        assert outcomes == ["denied", "success"]


def test_token_writes_skip_csrf_but_cookie_writes_need_it(api, client, login_as):
    api.config["WTF_CSRF_ENABLED"] = True
    token, _ = _token_for(api)
    assert api.test_client().post("/api/v1/_probe", headers=_bearer(token)).status_code == 201
    login_as("maintainer")
    resp = client.post("/api/v1/_probe")
    assert resp.status_code == 400 and "CSRF" in resp.json["message"]
    page = client.get("/account/tokens").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/api/v1/_probe", headers={"X-CSRFToken": csrf}).status_code == 201
    with api.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == "probe.write")) == 2
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == "csrf.rejected")) == 1


def test_a_bad_token_sent_with_a_valid_session_is_still_refused(api, client, login_as):
    login_as("maintainer")
    assert client.get("/api/v1/_probe").status_code == 200
    assert client.get("/api/v1/_probe", headers=_bearer("xzr_nope")).status_code == 401


def test_token_count_is_capped(api):
    with api.app_context():
        user = factories.make_user("maintainer", "zjj")
        for i in range(tokens.MAX_ACTIVE_PER_USER):
            tokens.create_token(user, f"t{i}")
        from registry.errors import ValidationFailed
        with pytest.raises(ValidationFailed):
            tokens.create_token(user, "one too many")
