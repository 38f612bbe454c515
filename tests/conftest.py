"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
REGISTRY_TEST_DATABASE_URL points at one (`make test` runs both)."""
from __future__ import annotations

import os
import tempfile

import pytest
import sqlalchemy as sa
from hypothesis.configuration import set_hypothesis_home_dir

from registry import create_app
from registry.audit.guard import triggers_suspended
from registry.extensions import db
from tests import factories
from tests.live import serving

TEST_PASSWORD = factories.TEST_PASSWORD
# Hypothesis keeps its caches (and any example database) under .hypothesis/: keep them out of the working tree.
set_hypothesis_home_dir(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
                        or os.path.join(tempfile.gettempdir(), "registry-hypothesis"))


def pytest_configure(config):
    """REGISTRY_TEST_FREEZE=2026-12-01T16:30Z runs the session at that instant (ticking): the suite must pass at any hour."""
    moment = os.environ.get("REGISTRY_TEST_FREEZE")
    if moment:
        import time_machine
        time_machine.travel(moment, tick=True).start()


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "registry-test.db")


def _reset_schema(app) -> None:
    """Drop everything and rebuild the schema through the migrations."""
    from flask_migrate import upgrade
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                meta = sa.MetaData()
                meta.reflect(conn)
                conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
                for table in reversed(meta.sorted_tables):
                    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table.name}"'))
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database the whole session runs against."""
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def _schema_app(database_url, tmp_path_factory):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                      "RATELIMIT_ENABLED": False, "TASKS_IMMEDIATE": True})
    _reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def clean_tables(app) -> None:
    """Empty every business table between tests (the schema stays)."""
    with app.app_context():
        db.session.remove()
        engine = db.engine
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with engine.begin() as conn, triggers_suspended(conn):
            # The audit log refuses DELETE; the guard is lifted for this transaction only. DELETE, not TRUNCATE:
            # TRUNCATE of 46 tables makes new files for each (0.3 s a test on PostgreSQL), DELETE of a
            # test's few rows takes milliseconds.
            for t in tables:
                conn.execute(sa.text(f'DELETE FROM "{t}"'))
            if engine.dialect.name == "postgresql":
                # What RESTART IDENTITY did: ids start at 1 again, as on a fresh database.
                conn.execute(sa.text("SELECT setval(oid::regclass, 1, false) FROM pg_class WHERE relkind = 'S'"))


@pytest.fixture
def app(_schema_app, database_url, tmp_path):
    """A fresh application on an empty (migrated) database, with reference data loaded."""
    clean_tables(_schema_app)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "NOTICE_FILES_DIR": str(tmp_path / "notices"), "SEAL_FILES_DIR": str(tmp_path / "seals"),
                      "FILES_ROOT": str(tmp_path / "files"), "TASKS_IMMEDIATE": True})
    with app.app_context():
        from registry.orgs.reference import ensure_reference_data
        ensure_reference_data()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `app`."""
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context, for tests that call services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def login(client, app):
    """Log `client` in as a new user of the given role; return the user's id."""
    def _login(role: str = "maintainer", department: str | None = "zjj", username: str | None = None):
        with app.app_context():
            user = factories.make_user(role=role, department=department, username=username)
            user_id, name = user.id, user.username
        resp = client.post("/login", data={"username": name, "password": TEST_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return user_id
    return _login


def session_login(client, user) -> None:
    """Put `user` in `client`'s session cookie directly (no password check: fast, for matrix tests)."""
    import time
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["last_seen"] = time.time()


@pytest.fixture
def login_as(client, app):
    """Log `client` in as a fresh user of `role` without the login form; return the user's id."""
    def _login_as(role: str, department: str | None = None, **kwargs):
        with app.app_context():
            if department is None and role in ("maintainer", "inspector", "dept_head"):
                department = "zjj"
            user = factories.make_user(role=role, department=department, **kwargs)
            session_login(client, user)
            return user.id
    return _login_as


@pytest.fixture
def live_server(app):
    """Serve `app` on a free loopback port in a thread; yield its base URL."""
    with serving(app) as base:
        yield base
