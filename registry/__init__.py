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
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_template_helpers(app)
    from registry.errors import register_error_handlers
    register_error_handlers(app)
    from registry.cli import register_commands
    register_commands(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """Return a per-installation random key kept in the instance folder (never a default)."""
    import secrets
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    from registry import models  # noqa: F401  (registers every table on the metadata)
    from registry.extensions import api, babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app)
    login_manager.init_app(app)
    api.init_app(app)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)


def _configure_sqlite(app: Flask) -> None:
    from sqlalchemy import event
    from registry.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # SQLite ignores foreign keys unless asked, and WAL lets readers work during a write.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def register_blueprints(app: Flask) -> None:
    """Attach every domain's views and API."""
    from registry.api_base import IdConverter
    # Before any route is added: an id beyond the database's integer range names nothing (404, not 500).
    app.url_map.converters["int"] = IdConverter
    from registry.accounts.admin_views import bp as users_bp, policy_bp
    from registry.accounts.views import bp as accounts_bp
    from registry.audit.views import bp as audit_bp
    from registry.jobs.views import bp as jobs_bp
    from registry.main.views import bp as main_bp
    from registry.snapshots.views import bp as snapshots_bp

    app.register_blueprint(main_bp)
    # accounts, administration and audit
    app.register_blueprint(accounts_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(policy_bp)
    app.register_blueprint(audit_bp)
    # scheduled jobs and list snapshots
    app.register_blueprint(jobs_bp)
    app.register_blueprint(snapshots_bp)

    # assets: Excel templates, import and export
    from registry.assets.transfer_api import blp as transfer_api_blp
    from registry.assets.transfer_views import bp as transfer_bp
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
    from registry.rules.services import findings_for_asset
    from registry.rules.views import bp as rules_bp
    app.register_blueprint(rules_bp)
    api.register_blueprint(rules_api)
    app.extensions[FINDINGS_EXTENSION] = findings_for_asset

    # replacement notices: HTML pages, public verification page, JSON API
    from registry.notices.api import blp as notices_api
    from registry.notices.views import bp as notices_bp, verify_bp
    app.register_blueprint(notices_bp)
    app.register_blueprint(verify_bp)
    api.register_blueprint(notices_api)

    # planning
    from registry.planning.api import blp as plans_api
    from registry.planning.views import bp as planning_bp
    app.register_blueprint(planning_bp)
    api.register_blueprint(plans_api)


def register_security(app: Flask) -> None:
    """Require login everywhere except the public endpoints, set security headers, refuse NUL characters."""
    from registry.accounts.security import init_security
    init_security(app)
    from registry.inputs import init_inputs
    init_inputs(app)  # after the login gate: an anonymous caller learns nothing from it


def register_template_helpers(app: Flask) -> None:
    """Expose enum labels and formatting helpers to templates."""
    from registry import enums

    @app.context_processor
    def _inject():
        from flask_login import current_user
        from registry.accounts.nav import account_nav
        from registry.main.nav import nav_items
        return {"enums": enums, "nav_items": nav_items(current_user), "account_nav_items": account_nav()}

    @app.template_filter("localtime")
    def _localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Format a stored UTC timestamp in the registry's timezone (SQLite hands back naive UTC)."""
        from datetime import timezone
        from zoneinfo import ZoneInfo
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(ZoneInfo(app.config["TIMEZONE"])).strftime(fmt)

    @app.template_filter("label")
    def _label(value):
        return getattr(value, "label", value if value is not None else "")
