"""`flask registry jobs ...` and `flask registry scheduler`."""
from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from registry import clock
from registry.errors import DomainError
from registry.jobs.catalog import declared_jobs, get_job, next_due
from registry.jobs.services import current_period, recent_runs, run_job
from registry.scheduler import run_forever, start_up

jobs_cli = AppGroup("jobs", help="定时任务：查看与手动运行")

_EXIT = {"succeeded": 0, "already-done": 0, "busy": 0, "failed": 1}


def _echo_outcome(outcome) -> None:
    run = f"（运行记录 #{outcome.run_id}）" if outcome.run_id else ""
    click.echo(f"{outcome.job_id} {outcome.period}: {outcome.status}{run} {outcome.message}")


@jobs_cli.command("list")
def list_jobs() -> None:
    """List the declared jobs with their schedule and last run."""
    for spec in declared_jobs():
        last = recent_runs(spec.id, limit=1)
        last_text = (f"#{last[0].id} {last[0].period} {last[0].status.label}" if last else "从未运行")
        nxt = next_due(spec)
        click.echo(f"{spec.id:26} {current_app.config[spec.cron_setting]:14} "
                   f"下次 {nxt:%Y-%m-%d %H:%M}  最近 {last_text}  {spec.label}")


@jobs_cli.command("run")
@click.argument("job_id")
@click.option("--period", help="周期键（默认当前周期），如 2026-11-30、2026-11、2026")
@click.option("--again", is_flag=True, help="当前周期已成功时，以手动补跑键（周期~时分）再运行一次")
def run_command(job_id: str, period: str | None, again: bool) -> None:
    """Run JOB_ID now for a period (exactly once: a finished or busy period is skipped)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        spec = get_job(job_id)
        if again:
            period = f"{period or current_period(spec)}~{clock.local_stamp('%H%M')}"
        outcome = run_job(job_id, period, trigger="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    _echo_outcome(outcome)
    sys.exit(_EXIT[outcome.status])


def register(group: AppGroup) -> None:
    """Attach the jobs group and the scheduler command to the `registry` group."""
    group.add_command(jobs_cli)
    group.add_command(scheduler_command)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="只做启动恢复（中断重跑、错过补跑、执行排队任务）后退出")
def scheduler_command(once: bool) -> None:
    """Run the job scheduler process (never start it inside web workers)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    if once:
        for outcome in start_up(app):
            _echo_outcome(outcome)
        return
    click.echo("调度进程已启动（Ctrl+C 或 SIGTERM 停止）", err=True)
    run_forever(app)
