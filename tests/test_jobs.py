"""The job runner in one process: exactly once per period, failures recorded, interrupted runs redone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

import sqlalchemy as sa

from registry.enums import Category, JobStatus
from registry.extensions import db
from registry.jobs import services
from registry import clock
from registry.jobs.catalog import JobSpec, declared_jobs, get_job, install, last_due, period_for
from registry.schedule import JOBS
from registry.snapshots.jobs import nightly_evaluation
from registry.jobs.locks import job_lock
from registry.jobs.models import JobRun
from registry.snapshots.models import Snapshot
from tests.factories import make_asset, make_user

NIGHTLY = "nightly-evaluation"


@pytest.fixture
def fake(app):
    """Feed snapshots from the fake source."""
    app.config["SNAPSHOT_SOURCE"] = "tests.fake_source:collect"
    return app


def _runs(job_id=NIGHTLY):
    return list(db.session.scalars(sa.select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def _snapshots():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot))


def test_jobs_are_declared_with_stable_ids(ctx):
    assert [j.id for j in declared_jobs()] == ["nightly-evaluation", "monthly-overdue-reminder", "notice-generation",
                                               "yearly-planning-draft"]
    assert get_job(NIGHTLY).target is nightly_evaluation  # the function itself, not a name resolved later
    assert {j.period for j in JOBS} == {"day", "month", "year"}


def test_run_once_per_period(fake, ctx):
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    first = services.run_job(NIGHTLY, "2025-06-01")
    assert first.status == "succeeded", first.message
    again = services.run_job(NIGHTLY, "2025-06-01")
    assert again.status == "already-done" and again.run_id == first.run_id
    [run] = _runs()
    assert run.status is JobStatus.SUCCEEDED and run.counts["hits"] == 1 and run.finished_at is not None
    assert _snapshots() == 1
    snap = db.session.scalar(sa.select(Snapshot))
    assert snap.key == "nightly-evaluation:2025-06-01" and snap.as_of == date(2025, 6, 1)
    assert snap.job_run_id == run.id


def test_busy_when_another_holder_has_the_lock(fake, ctx):
    with job_lock(NIGHTLY) as held:
        assert held
        outcome = services.run_job(NIGHTLY, "2025-06-01")
    assert outcome.status == "busy"
    assert _runs() == [] and _snapshots() == 0


def test_failure_is_recorded_and_leaves_nothing(app, ctx):
    app.config["SNAPSHOT_SOURCE"] = "tests.test_jobs:_exploding_source"
    outcome = services.run_job(NIGHTLY, "2025-06-01")
    assert outcome.status == "failed" and "RuntimeError: 数据源故障" in outcome.message
    [run] = _runs()
    assert run.status is JobStatus.FAILED and _snapshots() == 0
    assert services.failed_unacknowledged() == [run]
    user = make_user("sysadmin", None)
    services.acknowledge(run.id, user)
    assert services.failed_unacknowledged() == []
    # The next attempt of the same period succeeds as attempt 2.
    app.config["SNAPSHOT_SOURCE"] = "tests.fake_source:collect"
    assert services.run_job(NIGHTLY, "2025-06-01").status == "succeeded"
    assert [(r.attempt, r.status) for r in _runs()] == [(1, JobStatus.FAILED), (2, JobStatus.SUCCEEDED)]


def _exploding_source(as_of):
    raise RuntimeError("数据源故障")


def test_stale_running_row_is_abandoned_and_redone(fake, ctx):
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    db.session.add(JobRun(job_id=NIGHTLY, period="2025-06-01", attempt=1, trigger="schedule",
                          status=JobStatus.RUNNING, host="gone", pid=999999,
                          heartbeat_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
    db.session.commit()
    outcome = services.run_job(NIGHTLY, "2025-06-01")
    assert outcome.status == "succeeded"
    runs = _runs()
    assert [(r.attempt, r.status) for r in runs] == [(1, JobStatus.ABANDONED), (2, JobStatus.SUCCEEDED)]
    assert "已中断" in runs[0].error
    assert services.failed_unacknowledged() == [runs[0]]
    assert _snapshots() == 1


def test_a_job_without_a_function_fails_at_start_up(app):
    by_name = JobSpec("future-hook", "未来的任务", "JOB_NIGHTLY_EVALUATION_CRON", "day", "registry.later.jobs:run")
    with pytest.raises(RuntimeError, match="not callable"):
        install(app, JOBS + (by_name,))
    twice = JobSpec(NIGHTLY, "重复", "JOB_NIGHTLY_EVALUATION_CRON", "day", nightly_evaluation)
    with pytest.raises(RuntimeError, match="duplicate"):
        install(app, JOBS + (twice,))
    assert [j.id for j in app.extensions["registry.jobs"]] == [j.id for j in JOBS]  # refused: nothing changed


def test_catch_up_runs_the_last_due_period_once(fake, ctx, app):
    app.config["JOB_NIGHTLY_EVALUATION_CRON"] = "0 0 * * *"
    app.config["JOB_MONTHLY_OVERDUE_REMINDER_CRON"] = "0 0 1 1 *"
    app.config["JOB_MISFIRE_GRACE_SECONDS"] = 48 * 3600
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    outcomes = [o for o in services.catch_up() if o.job_id == NIGHTLY]
    today = clock.today().isoformat()
    assert [(o.period, o.status) for o in outcomes] == [(today, "succeeded")]
    assert [o for o in services.catch_up() if o.job_id == NIGHTLY] == []


def test_catch_up_skips_a_missed_period_beyond_grace_but_finishes_a_started_one(fake, ctx, app):
    app.config["JOB_NIGHTLY_EVALUATION_CRON"] = "0 0 * * *"
    app.config["JOB_MISFIRE_GRACE_SECONDS"] = 0
    assert [o for o in services.catch_up() if o.job_id == NIGHTLY] == []
    period = period_for(get_job(NIGHTLY), last_due(get_job(NIGHTLY)))
    db.session.add(JobRun(job_id=NIGHTLY, period=period, attempt=1, trigger="schedule", status=JobStatus.FAILED))
    db.session.commit()
    assert [o.status for o in services.catch_up() if o.job_id == NIGHTLY] == ["succeeded"]


def test_manual_request_is_queued_then_run_by_the_scheduler(fake, ctx):
    user = make_user("sysadmin", None)
    run = services.request_run(NIGHTLY, user)
    assert run.status is JobStatus.QUEUED and run.trigger == "manual"
    with pytest.raises(services.Conflict):
        services.request_run(NIGHTLY, user)
    [outcome] = services.run_queued()
    assert outcome.status == "succeeded" and outcome.run_id == run.id
    # The current period is done, so the next request is a manual re-run key.
    again = services.request_run(NIGHTLY, user)
    assert again.period.startswith(run.period + "~")
    assert [o.status for o in services.run_queued()] == ["succeeded"]
    assert _snapshots() == 2


def test_monthly_reminder_counts_overdue_per_department(fake, ctx):
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    make_asset(Category.MEDICAL_DEVICE, commissioned_on=date(2011, 1, 1))
    make_asset(Category.MEDICAL_DEVICE, commissioned_on=date(2020, 1, 1))
    assert services.run_job(NIGHTLY, "2025-06-01").status == "succeeded"
    outcome = services.run_job("monthly-overdue-reminder", "2025-06")
    assert outcome.status == "succeeded"
    run = db.session.get(JobRun, outcome.run_id)
    assert run.counts["by_department"] == {"wjw": 1, "zjj": 1} and run.counts["overdue"] == 2


def test_heartbeat_stamps_only_running_rows(ctx):
    from registry.jobs.heartbeat import Heartbeat
    run = JobRun(job_id=NIGHTLY, period="2025-06-01", attempt=1, trigger="cli", status=JobStatus.RUNNING)
    done = JobRun(job_id=NIGHTLY, period="2025-06-02", attempt=1, trigger="cli", status=JobStatus.SUCCEEDED)
    db.session.add_all([run, done])
    db.session.commit()
    Heartbeat(db.engine, run.id, 60).beat()
    Heartbeat(db.engine, done.id, 60).beat()
    db.session.expire_all()
    assert run.heartbeat_at is not None and done.heartbeat_at is None


def test_cli_list_and_run(fake, runner):
    listing = runner.invoke(args=["registry", "jobs", "list"])
    assert listing.exit_code == 0 and "nightly-evaluation" in listing.output
    assert all(spec.id in listing.output for spec in JOBS)
    first = runner.invoke(args=["registry", "jobs", "run", "nightly-evaluation", "--period", "2025-06-01"])
    assert first.exit_code == 0 and "succeeded" in first.output
    again = runner.invoke(args=["registry", "jobs", "run", "nightly-evaluation", "--period", "2025-06-01"])
    assert again.exit_code == 0 and "already-done" in again.output
    bad = runner.invoke(args=["registry", "jobs", "run", "nightly-evaluation", "--period", "2025-13-01"])
    assert bad.exit_code == 1 and "格式不正确" in bad.output
    assert runner.invoke(args=["registry", "jobs", "run", "nope"]).exit_code == 1
