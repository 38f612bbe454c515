"""Home page and health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from registry.accounts.access import roles_required

from registry.extensions import db
from registry.main.services import inventory_counts

bp = Blueprint("main", __name__)


@bp.route("/")
@roles_required()
def home():
    """Show counts per category and department."""
    from registry.accounts.scoping import asset_scope
    from registry.jobs.services import failed_unacknowledged
    from registry.jobs.views import JOB_ROLES
    failed_runs = failed_unacknowledged() if current_user.role in JOB_ROLES else []
    return render_template("main/home.html", counts=inventory_counts(asset_scope(current_user)),
                           failed_runs=failed_runs)


@bp.route("/healthz")
def health():
    """Answer 200 when the app and its database respond (no login needed)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        return jsonify(status="ok")
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return jsonify(status="database unavailable"), 503
