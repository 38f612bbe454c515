"""The scheduler process (`flask registry scheduler`): APScheduler 3, never inside web workers.

Web workers only queue runs (a `job_runs` row with status 'queued'); this process fires the
declared jobs on their cron schedules and drains the queue every few seconds. Exactly-once is
not this module's business: every run goes through `registry.jobs.services.run_job`, which
takes the job's lock, so any number of scheduler processes produce one run per period.
"""
from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from registry import clock
from registry.jobs.catalog import cron_trigger, declared_jobs
from registry.jobs.services import catch_up, recover_stale, run_job, run_queued

log = logging.getLogger("registry.scheduler")


def build_scheduler(app: Flask, blocking: bool = True):
    """Return an APScheduler scheduler holding every declared job and the queue poller."""


    cfg = app.config
    with app.app_context():
        tz = clock.zone()
        scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
            timezone=tz,
            job_defaults={
                # A run missed by less than the grace time still runs; several missed runs of one
                # job collapse into one (coalesce); a job never overlaps itself in one process.
                "misfire_grace_time": cfg["JOB_MISFIRE_GRACE_SECONDS"],
                "coalesce": True,
                "max_instances": 1,
            },
        )
        for spec in declared_jobs():
            scheduler.add_job(_fire, cron_trigger(spec), args=[app, spec.id], id=spec.id, name=spec.label)
    scheduler.add_job(_poll, IntervalTrigger(seconds=cfg["JOB_POLL_SECONDS"], timezone=tz), args=[app],
                      id="poll-queued-runs", name="执行手动排队的任务")
    return scheduler


def _fire(app: Flask, job_id: str) -> None:
    with app.app_context():
        outcome = run_job(job_id, trigger="schedule")
        log.info("job %s period %s: %s %s", job_id, outcome.period, outcome.status, outcome.message)


def _poll(app: Flask) -> None:
    with app.app_context():
        recover_stale()
        for outcome in run_queued():
            log.info("queued job %s period %s: %s", outcome.job_id, outcome.period, outcome.status)


def start_up(app: Flask) -> list:
    """Recover interrupted runs, run what was missed, drain the queue; return the outcomes."""
    with app.app_context():
        recovered = recover_stale()
        if recovered:
            log.warning("%d interrupted run(s) marked abandoned", recovered)
        return catch_up() + run_queued()


def run_forever(app: Flask) -> None:
    """Run start-up recovery, then fire jobs until SIGTERM or SIGINT."""
    start_up(app)
    scheduler = build_scheduler(app, blocking=True)

    def _stop(signum, _frame):
        log.info("signal %s: stopping the scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.start()
