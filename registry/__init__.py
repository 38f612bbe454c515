"""设备更新台账 — the Equipment Renewal Registry."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides settings read from REGISTRY_* variables."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="static")
    os.makedirs(app.instance_path, exist_ok=True)

    from registry.config import load_config
    app.config.update(load_config(app.instance_path, config))
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path, "secret_key")
    if not app.config["AUDIT_KEY"]:
        # Its own file, not derived from SECRET_KEY: rotating the session key must not break the audit chain.
        app.config["AUDIT_KEY"] = _instance_secret(app.instance_path, "audit_key")
    from registry.clock import check_zone
    check_zone(app.config["TIMEZONE"])

    register_proxy_fix(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_template_helpers(app)
    register_jobs(app)
    from registry.errors import register_error_handlers
    register_error_handlers(app)
    from registry.cli import register_commands
    register_commands(app)
    return app


def _instance_secret(instance_path: str, name: str) -> str:
    """Return a per-installation random key kept in instance/<name>, mode 600 (never a default)."""
    import secrets
    import tempfile
    path = os.path.join(instance_path, name)
    if not os.path.exists(path):
        # Written whole under a temporary name, then linked into place: a worker starting at the same
        # moment either wins or reads the winner's key, never half a file.
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path) as fh:
        return fh.read().strip()


def register_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto from exactly REGISTRY_TRUSTED_PROXIES proxies in front (0: trust none).

    Behind nginx every request comes from 127.0.0.1; without this the audit log and the per-address
    limits would see one client. With it, a client that talks to gunicorn directly could forge its
    address, so set it only when the proxies are the sole way in (gunicorn binds to 127.0.0.1).
    """
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops < 0:
        raise ValueError("REGISTRY_TRUSTED_PROXIES must be 0 or more")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    from registry import models  # noqa: F401  (registers every table on the metadata)
    from registry.extensions import api, babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    _release_session_quietly(app, db)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app)
    login_manager.init_app(app)
    api.init_app(app)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)


def _release_session_quietly(app: Flask, db) -> None:
    """End each request's session without letting a connection lost after the answer turn it into a crash."""
    import sqlalchemy as sa

    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (Flask runs teardowns in reverse).
    @app.teardown_appcontext
    def _release(_exc):
        try:
            db.session.remove()
        except sa.exc.DBAPIError as err:
            # PostgreSQL went away between building the answer and the closing ROLLBACK: the answer stands,
            # the pool has already invalidated the connection, and the next request gets a fresh one.
            app.logger.warning("database connection lost while ending the request: %s", str(err).splitlines()[0])
            db.session.remove()


def _configure_sqlite(app: Flask) -> None:
    from sqlalchemy import event
    from registry.assets.search import register_sqlite_function
    from registry.extensions import db

    with app.app_context():
        engine = db.engine
    mmap_size = int(app.config["SQLITE_MMAP_SIZE"])

    class _SQLiteCompiler(engine.dialect.statement_compiler):
        """SQLAlchemy's SQLite compiler drops table hints; this one writes them (`INDEXED BY`, registry.assets.queries)."""

        def get_from_hint_text(self, table, text):
            return text

    engine.dialect.statement_compiler = _SQLiteCompiler

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # SQLite ignores foreign keys unless asked, and WAL lets readers work during a write.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute(f"PRAGMA mmap_size={mmap_size}")
        cur.close()
        # The keyword-search triggers (migration 0019) call this function on every write of an asset.
        register_sqlite_function(dbapi_conn)


def register_blueprints(app: Flask) -> None:
    """Attach every domain's views and API."""
    from registry.api_base import IdConverter
    # Before any route is added: an id beyond the database's integer range names nothing (404, not 500).
    app.url_map.converters["int"] = IdConverter
    from registry.accounts.admin_views import bp as users_bp, policy_bp
    from registry.accounts.views import bp as accounts_bp
    from registry.audit.views import bp as audit_bp
    from registry.jobs.views import bp as jobs_bp
    from registry.home.views import bp as home_bp
    from registry.snapshots.views import bp as snapshots_bp
    from registry.tasks.views import bp as tasks_bp

    app.register_blueprint(home_bp)
    # accounts, administration and audit
    app.register_blueprint(accounts_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(policy_bp)
    app.register_blueprint(audit_bp)
    # scheduled jobs and list snapshots
    app.register_blueprint(jobs_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(snapshots_bp)

    # assets: Excel templates, import and export
    from registry.transfer.api import blp as transfer_api_blp
    from registry.transfer.views import bp as transfer_bp
    from registry.extensions import api
    app.register_blueprint(transfer_bp)
    api.register_blueprint(transfer_api_blp)

    # inventory: web pages, JSON API (flask-smorest) and the local API docs page
    from registry.assets.api import blp as assets_api, docs_bp as api_docs_page
    from registry.assets.views import bp as assets_bp
    from registry.orgs.api import blp as units_api
    app.register_blueprint(assets_bp)
    app.register_blueprint(api_docs_page)
    api.register_blueprint(assets_api)
    api.register_blueprint(units_api)

    # rules engine: pages, API, and the findings block of the asset page
    from registry.assets.views import FINDINGS_EXTENSION
    from registry.rules.api import blp as rules_api
    from registry.assets.filters import FINDINGS_EXTENSION as LEDGER_FINDINGS, FindingsProvider
    from registry.rules.ledger import finding_condition, finding_summaries
    from registry.rules.services import findings_for_asset
    from registry.rules.views import bp as rules_bp
    app.register_blueprint(rules_bp)
    api.register_blueprint(rules_api)
    app.extensions[FINDINGS_EXTENSION] = findings_for_asset
    app.extensions[LEDGER_FINDINGS] = FindingsProvider(condition=finding_condition, summaries=finding_summaries)

    # disposal and replacement records: 已报废 needs a disposal; notices complete on these records
    from registry.assets.services import SCRAP_GUARD_EXTENSION
    from registry.disposals.services import evidence_for, has_disposal
    from registry.notices.lifecycle import EVIDENCE_EXTENSION
    app.extensions[SCRAP_GUARD_EXTENSION] = has_disposal
    app.extensions[EVIDENCE_EXTENSION] = evidence_for
    from registry.assets.views import RECORDS_EXTENSION
    from registry.disposals.api import blp as disposals_api
    from registry.disposals.services import section_for
    from registry.disposals.views import bp as disposals_bp
    app.extensions[RECORDS_EXTENSION] = section_for
    app.register_blueprint(disposals_bp)
    api.register_blueprint(disposals_api)

    # replacement notices: HTML pages, public verification page, JSON API
    from registry.notices.api import blp as notices_api
    from registry.notices.views import bp as notices_bp, verify_bp
    app.register_blueprint(notices_bp)
    app.register_blueprint(verify_bp)
    api.register_blueprint(notices_api)

    # planning
    from registry.planning.api import blp as plans_api
    from registry.planning.progress_views import bp as progress_bp
    from registry.planning.views import bp as planning_bp
    app.register_blueprint(planning_bp)
    app.register_blueprint(progress_bp)
    api.register_blueprint(plans_api)


def register_jobs(app: Flask) -> None:
    """Declare the scheduled jobs (registry.schedule) for the scheduler, the jobs page and the CLI."""
    from registry.jobs.catalog import install
    from registry.schedule import JOBS
    install(app, JOBS)
    from registry.tasks import queue, services
    queue.init_app(app, services.run)


def register_security(app: Flask) -> None:
    """Require login everywhere except the public endpoints, set security headers, refuse NUL characters."""
    from registry.accounts.security import init_security
    init_security(app)
    from registry.inputs import init_inputs
    init_inputs(app)  # after the login gate: an anonymous caller learns nothing from it


def register_template_helpers(app: Flask) -> None:
    """Expose enum labels and formatting helpers to templates."""
    from registry import enums

    # The links depend only on the role and the mount point; building them is ~12 url_for calls a page.
    nav_cache: dict[tuple, tuple[list, list]] = {}

    @app.context_processor
    def _inject():
        from flask import has_request_context, request
        from flask_login import current_user
        from registry.accounts.nav import account_nav
        from registry.home.nav import nav_items
        if not has_request_context():
            return {"enums": enums, "nav_items": nav_items(current_user), "account_nav_items": account_nav()}
        key = (current_user.role if current_user.is_authenticated else None, request.script_root)
        if key not in nav_cache:
            nav_cache[key] = (nav_items(current_user), account_nav())
        items, account_items = nav_cache[key]
        return {"enums": enums, "nav_items": items, "account_nav_items": account_items}

    @app.template_filter("localtime")
    def _localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Format a stored UTC timestamp in the registry's timezone (SQLite hands back naive UTC)."""
        from registry.clock import to_local
        return "" if value is None else to_local(value).strftime(fmt)

    from registry.errors import error_rows
    app.add_template_filter(error_rows, "error_rows")

    @app.template_filter("label")
    def _label(value):
        return getattr(value, "label", value if value is not None else "")
