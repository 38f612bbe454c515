"""Run a job exactly once per period, record every attempt, and recover interrupted runs."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from registry import clock
from registry.audit import services as audit
from registry.db_types import utcnow
from registry.enums import JobStatus
from registry.errors import Conflict, NotFound
from registry.extensions import db
from registry.jobs.catalog import (
    JobContext, JobSpec, as_of_for, declared_jobs, get_job, last_due, period_for,
)
from registry.jobs.heartbeat import Heartbeat
from registry.jobs.locks import job_lock
from registry.jobs.models import JobRun

log = logging.getLogger("registry.jobs")


@dataclass
class RunOutcome:
    """What happened when a process tried to run a job for a period."""

    job_id: str
    period: str
    status: str  # succeeded | failed | already-done | busy
    run_id: int | None = None
    message: str = ""


def current_period(spec: JobSpec) -> str:
    """Return the period key the job would run for now."""
    return period_for(spec, clock.local_now())


def run_job(job_id: str, period: str | None = None, trigger: str = "cli") -> RunOutcome:
    """Run `job_id` for `period` unless it already succeeded or another process is running it."""
    spec = get_job(job_id)
    func = spec.target
    period = period or current_period(spec)
    as_of = as_of_for(spec, period)
    with job_lock(job_id) as held:
        if not held:
            return RunOutcome(job_id, period, "busy", message="另一个进程正在运行此任务，本进程跳过")
        abandon_stale_runs(job_id)
        done = _succeeded(job_id, period)
        if done is not None:
            return RunOutcome(job_id, period, "already-done", done.id, "该周期已成功运行，跳过")
        run = _claim(spec, period, trigger)
        if run is None:
            return RunOutcome(job_id, period, "busy", message="同一周期刚被另一请求占用，本进程跳过")
        return _execute(func, run, JobContext(run.id, job_id, period, as_of, trigger))


def abandon_stale_runs(job_id: str) -> int:
    """Mark this job's 'running' rows as abandoned; call only while holding the job lock."""
    # Holding the lock proves the process that wrote these rows is gone (killed or crashed).
    stale = db.session.scalars(sa.select(JobRun).where(JobRun.job_id == job_id,
                                                       JobRun.status == JobStatus.RUNNING)).all()
    now = utcnow()
    for run in stale:
        run.status = JobStatus.ABANDONED
        run.finished_at = now
        run.error = (f"运行进程（{run.host}，pid {run.pid}）已中断：任务锁已释放，最后心跳 "
                     f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC；未完成的写入已整体回滚" if run.heartbeat_at
                     else f"运行进程（{run.host}，pid {run.pid}）已中断；未完成的写入已整体回滚")
        audit.record("job.abandoned", outcome="failure", object_type="job_run", object_id=run.id,
                     details={"job_id": job_id, "period": run.period})
        log.warning("job %s period %s run %s abandoned (process gone)", job_id, run.period, run.id)
    if stale:
        db.session.commit()
    return len(stale)


def _latest(job_id: str, period: str) -> JobRun | None:
    return db.session.scalar(sa.select(JobRun).where(JobRun.job_id == job_id, JobRun.period == period)
                             .order_by(JobRun.attempt.desc()).limit(1))


def _succeeded(job_id: str, period: str) -> JobRun | None:
    return db.session.scalar(sa.select(JobRun).where(JobRun.job_id == job_id, JobRun.period == period,
                                                     JobRun.status == JobStatus.SUCCEEDED).limit(1))


def _claim(spec: JobSpec, period: str, trigger: str) -> JobRun | None:
    """Turn the period's queued row, or a new attempt, into a running row; None if a racer won."""
    latest = _latest(spec.id, period)
    if latest is not None and latest.status is JobStatus.QUEUED:
        run = latest
    else:
        run = JobRun(job_id=spec.id, period=period, attempt=(latest.attempt + 1) if latest else 1, trigger=trigger)
        db.session.add(run)
    now = utcnow()
    run.status = JobStatus.RUNNING
    run.started_at = run.heartbeat_at = now
    run.host, run.pid = socket.gethostname()[:128], os.getpid()
    try:
        db.session.commit()
    except IntegrityError:
        # Another process claimed the same attempt first; it runs the period, we do not.
        db.session.rollback()
        return None
    return run


def _execute(func, run: JobRun, ctx: JobContext) -> RunOutcome:
    """Call the job function; its writes and the 'succeeded' mark commit in one transaction."""
    run_id = run.id
    log.info("job %s period %s attempt %s started (run %s)", ctx.job_id, ctx.period, run.attempt, run_id)
    with Heartbeat(db.engine, run_id, current_app.config["JOB_HEARTBEAT_SECONDS"]):
        try:
            counts = func(ctx) or {}
            run = db.session.get(JobRun, run_id)
            run.status, run.finished_at, run.counts = JobStatus.SUCCEEDED, utcnow(), counts
            audit.record("job.succeeded", object_type="job_run", object_id=run_id,
                         details={"job_id": ctx.job_id, "period": ctx.period, "counts": counts})
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run, nothing half-written
            db.session.rollback()
            log.exception("job %s period %s failed", ctx.job_id, ctx.period)
            run = db.session.get(JobRun, run_id)
            run.status, run.finished_at = JobStatus.FAILED, utcnow()
            run.error = (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:2000]
            audit.record("job.failed", outcome="failure", object_type="job_run", object_id=run_id,
                         details={"job_id": ctx.job_id, "period": ctx.period, "error": run.error})
            db.session.commit()
            return RunOutcome(ctx.job_id, ctx.period, "failed", run_id, run.error)
    return RunOutcome(ctx.job_id, ctx.period, "succeeded", run_id, "运行成功")


def catch_up(now=None) -> list[RunOutcome]:
    """On scheduler start: redo interrupted or failed runs of the last due period, and run a missed one.

    A period with no run at all is run only while within the misfire grace time (APScheduler's own
    rule); a period that was started (abandoned, failed, queued) is always finished.
    """
    now = now or clock.local_now()
    grace = timedelta(seconds=current_app.config["JOB_MISFIRE_GRACE_SECONDS"])
    outcomes = []
    for spec in declared_jobs():
        due = last_due(spec, now)
        if due is None:
            continue
        period = period_for(spec, due)
        if _succeeded(spec.id, period) is not None:
            continue
        if _latest(spec.id, period) is None and now - due > grace:
            continue
        outcomes.append(run_job(spec.id, period, trigger="catch-up"))
    return outcomes


def request_run(job_id: str, user) -> JobRun:
    """Queue a run of `job_id` for the scheduler process: the current period if it has not succeeded,
    else a manual re-run key 'period~HHMM' (two clicks in the same minute make one run)."""
    spec = get_job(job_id)
    fresh = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    pending = db.session.scalar(sa.select(JobRun.id).where(JobRun.job_id == job_id, sa.or_(
        JobRun.status == JobStatus.QUEUED,
        # A running row whose heartbeat went quiet is an interrupted run the next claim recovers.
        sa.and_(JobRun.status == JobStatus.RUNNING, JobRun.heartbeat_at >= fresh))).limit(1))
    if pending is not None:
        raise Conflict(f"任务“{spec.label}”已在排队或运行中（运行记录 #{pending}）")
    now = clock.local_now()
    period = period_for(spec, now)
    if _succeeded(job_id, period) is not None:
        period = f"{period}~{now:%H%M}"
        if _succeeded(job_id, period) is not None:
            raise Conflict("本分钟内已手动运行过该任务，请稍后再试")
    latest = _latest(job_id, period)
    run = JobRun(job_id=job_id, period=period, attempt=(latest.attempt + 1) if latest else 1,
                 trigger="manual", status=JobStatus.QUEUED, requested_by=user.id)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("该任务刚刚已被他人加入队列") from exc
    audit.record("job.requested", object_type="job_run", object_id=run.id,
                 details={"job_id": job_id, "period": period})
    db.session.commit()
    return run


def recover_stale() -> int:
    """Abandon 'running' rows whose process is gone, for every job whose lock is free."""
    job_ids = db.session.scalars(sa.select(JobRun.job_id).where(JobRun.status == JobStatus.RUNNING).distinct()).all()
    count = 0
    for job_id in job_ids:
        with job_lock(job_id) as held:
            if held:
                count += abandon_stale_runs(job_id)
    return count


def run_queued() -> list[RunOutcome]:
    """Run the queued (manually requested) runs; called by the scheduler process every few seconds."""
    queued = db.session.execute(sa.select(JobRun.job_id, JobRun.period).where(JobRun.status == JobStatus.QUEUED)
                                .order_by(JobRun.id)).all()
    return [run_job(job_id, period, trigger="manual") for job_id, period in queued]


def acknowledge(run_id: int, user) -> JobRun:
    """Mark a failed or abandoned run as seen, so it leaves the home page."""
    run = db.session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"运行记录 #{run_id} 不存在")
    if run.status not in (JobStatus.FAILED, JobStatus.ABANDONED):
        raise Conflict("只有失败或中断的运行需要确认")
    if run.acknowledged_at is None:
        run.acknowledged_by, run.acknowledged_at = user.id, utcnow()
        audit.record("job.acknowledged", object_type="job_run", object_id=run.id,
                     details={"job_id": run.job_id, "period": run.period})
        db.session.commit()
    return run


def failed_unacknowledged(limit: int = 20) -> list[JobRun]:
    """Return failed or abandoned runs nobody has acknowledged yet, newest first."""
    return list(db.session.scalars(sa.select(JobRun).where(
        JobRun.status.in_([JobStatus.FAILED, JobStatus.ABANDONED]), JobRun.acknowledged_at.is_(None))
        .order_by(JobRun.id.desc()).limit(limit)))


def recent_runs(job_id: str | None = None, limit: int = 100) -> list[JobRun]:
    """Return the latest runs, optionally of one job."""
    query = sa.select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    return list(db.session.scalars(query))
