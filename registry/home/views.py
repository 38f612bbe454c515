"""Home page and health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.home.services import database_responds, failed_job_runs, work_for

bp = Blueprint("home", __name__)


@bp.route("/")
@roles_required()
def index():
    """Show the user's work for today: what to do, each line a link to where it is done."""
    return render_template("home/index.html", work=work_for(current_user), failed_runs=failed_job_runs(current_user),
                           today=clock.today())


@bp.route("/healthz")
def health():
    """Answer 200 when the app and its database respond (no login needed)."""
    try:
        database_responds()
        return jsonify(status="ok")
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return jsonify(status="database unavailable"), 503
