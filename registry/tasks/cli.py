"""`flask registry worker`: the process that runs background tasks (run one or more, on any host)."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from huey.consumer import Consumer

from registry.tasks.queue import huey_of


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 16), default=None, help="并行执行的任务数（默认 TASK_WORKERS）")
@with_appcontext
def worker(workers: int | None) -> None:
    """Run background tasks (large imports, batch prints) until stopped (Ctrl+C or SIGTERM)."""
    app = current_app._get_current_object()
    if app.config["TASKS_IMMEDIATE"]:
        raise click.UsageError("TASKS_IMMEDIATE 已开启：任务在提交时立即执行，无需后台进程")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    count = workers or int(app.config["TASK_WORKERS"])
    click.echo(f"后台任务进程已启动（{count} 个执行线程）")
    # Threads, not forked processes: each task opens its own sessions; CPU-heavy work (batch print)
    # uses its own process pool. More throughput: run more workers, on more hosts.
    # An idle worker polls the queue table at most every 2 s (huey's default backs off to 10 s): a
    # person waiting on the progress page should not wait for the poll.
    Consumer(huey_of(app), workers=count, worker_type="thread", periodic=False, check_worker_health=True,
             initial_delay=0.1, backoff=1.15, max_delay=2.0).run()


def register(group) -> None:
    """Attach the worker command to `flask registry`."""
    group.add_command(worker)
