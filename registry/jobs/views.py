"""The job runs page (operations): declared jobs, recent runs, run now, acknowledge failures."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry import clock
from registry.accounts.access import roles_required
from registry.enums import Role
from registry.jobs import services
from registry.jobs.catalog import declared_jobs, next_due, schedule_text
from registry.pages import done

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

# Job runs are operations, not business data: the system administrator runs the machinery,
# and the task force owns the lists it produces. Counts on a run are totals only.
JOB_ROLES = (Role.SYSADMIN, Role.TASKFORCE)


@bp.route("/")
@roles_required(*JOB_ROLES)
def index():
    """List the declared jobs and the latest runs."""
    job_filter = request.args.get("job") or None
    jobs = [{"spec": spec, "cron": current_app.config[spec.cron_setting], "next": next_due(spec),
             "schedule": schedule_text(current_app.config[spec.cron_setting]),
             "last": (services.recent_runs(spec.id, 1) or [None])[0]} for spec in declared_jobs()]
    return render_template("jobs/index.html", jobs=jobs, runs=services.recent_runs(job_filter, 100),
                           job_filter=job_filter, labels={s.id: s.label for s in declared_jobs()},
                           stale_seconds=current_app.config["JOB_STALE_SECONDS"], now=clock.now())


@bp.route("/<job_id>/run", methods=["POST"])
@roles_required(*JOB_ROLES)
def run_now(job_id: str):
    """Queue a run for the scheduler process."""
    run = services.request_run(job_id, current_user)
    return done(f"已加入队列（运行记录 #{run.id}，周期 {run.period}），调度进程将在数秒内执行", "jobs.index")


@bp.route("/runs/<int:run_id>/acknowledge", methods=["POST"])
@roles_required(*JOB_ROLES)
def acknowledge(run_id: int):
    """Mark a failed run as seen."""
    run = services.acknowledge(run_id, current_user)
    flash(f"已确认运行记录 #{run.id} 的失败", "success")
    target = request.form.get("next") or ""
    # Only same-site paths: never an open redirect.
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("jobs.index"))
