"""Every registered route, with every role: the answer matches the route's role declaration.

A route whose view (or, for MethodView/flask-smorest, whose HTTP method) lacks a
`@roles_required(...)` declaration fails here, so no future route can forget it.
"""
from __future__ import annotations

import pytest

from registry import create_app
from registry.accounts.access import allowed_roles_for
from registry.accounts.models import User
from registry.extensions import db
from tests import factories
from tests.conftest import session_login
from registry.accounts.security import PUBLIC_ENDPOINTS
from registry.enums import Role

# Sample path arguments point at rows that do not exist: an allowed role gets 404, never 403.
_ARG_SAMPLES = {"int": "999999", "string": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}
ROLES = [r.value for r in Role] + ["anonymous"]


_LISTING_APP = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})


def _routes():
    app = _LISTING_APP
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule) -> str:
    url = rule.rule
    for arg in rule.arguments:
        # The werkzeug converter a route uses, or extends (registry.api_base.IdConverter is an IntegerConverter).
        converter = next(c for c in type(rule._converters[arg]).__mro__ if c.__module__.startswith("werkzeug"))
        converter = converter.__name__.replace("Converter", "").lower()
        sample = _ARG_SAMPLES.get({"integer": "int", "unicode": "string"}.get(converter, converter), "1")
        url = url.replace(f"<{arg}>", sample)
        for conv in ("int", "string", "path", "uuid"):
            url = url.replace(f"<{conv}:{arg}>", sample)
    return url


ROUTES = list(_routes())


@pytest.mark.parametrize("rule,method", ROUTES, ids=[f"{m} {r.rule}" for r, m in ROUTES])
def test_every_route_declares_its_roles(rule, method):
    declared = allowed_roles_for(_LISTING_APP.view_functions[rule.endpoint], method)
    assert declared, (f"{method} {rule.rule} ({rule.endpoint}) has no @roles_required declaration; "
                      "decorate the view (or each MethodView method)")
    assert set(declared) <= set(Role)


@pytest.fixture(scope="module")
def matrix_app(_schema_app, database_url):
    """One app and one user per role for the whole matrix (requests use ids that do not exist)."""
    from tests.conftest import clean_tables
    clean_tables(_schema_app)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        from registry.orgs.reference import ensure_reference_data
        ensure_reference_data()
        users = {}
        for r in Role:
            dept = "zjj" if r in (Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD) else None
            users[r.value] = factories.make_user(role=r.value, department=dept, username=f"matrix-{r.value}").id
    yield app, users
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule,method", ROUTES, ids=[f"{m} {r.rule}" for r, m in ROUTES])
def test_route_answers_each_role_as_declared(matrix_app, rule, method, role):
    app, users = matrix_app
    declared = allowed_roles_for(app.view_functions[rule.endpoint], method)
    assert declared, f"{method} {rule.rule} has no role declaration"
    client = app.test_client()
    if role != "anonymous":
        with app.app_context():
            # Re-read: an earlier POST /logout in the matrix bumped this user's session generation.
            session_login(client, db.session.get(User, users[role]))
    resp = client.open(_url(rule), method=method)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if role == "anonymous":
        assert resp.status_code in (302, 401)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]
    elif Role(role) in declared:
        assert resp.status_code not in (401, 403), f"{role} is declared for {method} {rule.rule}"
    else:
        assert resp.status_code == 403, f"{role} is not declared for {method} {rule.rule}: {resp.status_code}"


def test_denials_are_audited(app, client, login_as):
    import sqlalchemy as sa
    from registry.audit.models import AuditRecord
    from registry.extensions import db
    login_as("maintainer")
    assert client.get("/admin/users/").status_code == 403
    with app.app_context():
        rec = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "access.denied")).one()
        assert rec.outcome == "denied" and "/admin/users/" in rec.details


def test_methodview_methods_are_checked_one_by_one():
    from flask import Flask
    from flask.views import MethodView
    from registry.accounts.access import roles_required

    class Things(MethodView):
        @roles_required(Role.TASKFORCE)
        def get(self):
            return "ok"

        def post(self):  # forgot its declaration
            return "ok"

    app = Flask(__name__)
    app.add_url_rule("/things", view_func=Things.as_view("things"))
    view = app.view_functions["things"]
    assert allowed_roles_for(view, "GET") == {Role.TASKFORCE}
    assert allowed_roles_for(view, "POST") is None


def test_flask_smorest_resources_keep_the_declaration_in_either_decorator_order():
    from flask import Flask
    from flask.views import MethodView
    from flask_smorest import Api, Blueprint
    from marshmallow import Schema, fields

    from registry.accounts.access import roles_required

    class Out(Schema):
        ok = fields.Bool()

    blp = Blueprint("things", __name__, url_prefix="/api/v1/things")

    @blp.route("/")
    class Things(MethodView):
        @roles_required(Role.TASKFORCE)  # outermost
        @blp.response(200, Out)
        def get(self):
            return {"ok": True}

        @blp.response(201, Out)
        @roles_required(Role.MAINTAINER)  # innermost: functools.wraps carries the attribute out
        def post(self):
            return {"ok": True}

    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    Api(app).register_blueprint(blp)
    view = app.view_functions["things.Things"]
    assert allowed_roles_for(view, "GET") == {Role.TASKFORCE}
    assert allowed_roles_for(view, "POST") == {Role.MAINTAINER}
