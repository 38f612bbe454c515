"""Start a background task, run it in the worker with progress, and show it to the person who started it."""
from __future__ import annotations

import logging
import time
from datetime import timezone
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.accounts.models import User
from registry.enums import TaskStatus
from registry.errors import DomainError, NotFound
from registry.extensions import db
from registry.tasks import queue
from registry.tasks.models import BackgroundTask
from registry.transactions import atomic

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
# kind -> handler(task_id, payload, progress, user) -> result (JSON). A handler runs in the worker, owns its own
# transaction (commits its work), and raises DomainError with a Chinese message to fail the task.
Handler = Callable[[int, dict, Progress, Any], dict]
HANDLERS: dict[str, Handler] = {}
PROGRESS_INTERVAL = 0.5  # seconds between progress writes: the page polls every second or two


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs tasks of `kind` (a module-level decorator, once per kind)."""
    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise RuntimeError(f"two handlers for background task kind {kind!r}")
        HANDLERS[kind] = fn
        return fn
    return register


@atomic
def submit(kind: str, user, payload: dict, title: str) -> BackgroundTask:
    """Record a task for `user` and queue it; return it (the page then follows its progress)."""
    if kind not in HANDLERS:
        raise RuntimeError(f"no handler for background task kind {kind!r}")
    task = BackgroundTask(kind=kind, requested_by=getattr(user, "id", None), payload=payload, title=title[:200],
                          status=TaskStatus.QUEUED, stage="排队等待", done=0, total=0)
    db.session.add(task)
    db.session.commit()
    queue.enqueue(task.id)
    db.session.expire_all()  # in TASKS_IMMEDIATE mode the task has already run on another session state
    return db.session.get(BackgroundTask, task.id)


def task_for(user, task_id: int) -> BackgroundTask:
    """Return one of the user's own tasks, or NotFound (another person's task does not exist for them)."""
    task = db.session.get(BackgroundTask, task_id)
    if task is None or task.requested_by != getattr(user, "id", None):
        raise NotFound("没有这项后台任务")
    return task


def stalled(task: BackgroundTask) -> bool:
    """Tell whether a running task has stopped reporting (its worker died): shown as 已中断."""
    if task.status is not TaskStatus.RUNNING or task.heartbeat_at is None:
        return False
    beat = task.heartbeat_at
    if beat.tzinfo is None:  # SQLite returns stored UTC times without their zone
        beat = beat.replace(tzinfo=timezone.utc)
    return (clock.now() - beat).total_seconds() > current_app.config["TASK_STALE_SECONDS"]


class Reporter:
    """The progress callback a handler gets: writes at most every PROGRESS_INTERVAL, on its own connection.

    Progress commits outside the handler's transaction, so the page sees it while the work is still
    uncommitted. It is best-effort: on SQLite, while the handler holds the write lock, a write fails at
    once (busy_timeout 0) and is skipped, never delaying the work.
    """

    def __init__(self, task_id: int):
        self.task_id = task_id
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Report that `done` of `total` steps of `stage` are finished."""
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and done < total:
            return
        self._last = now
        self.write(stage=stage[:40], done=max(0, int(done)), total=max(0, int(total)), heartbeat_at=clock.now())

    def write(self, **values) -> bool:
        """Write columns of the task row in a transaction of its own; return False if it had to be skipped."""
        try:
            with db.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    conn.execute(sa.update(BackgroundTask).where(BackgroundTask.id == self.task_id).values(**values))
                    conn.commit()
                finally:
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("PRAGMA busy_timeout=10000")
            return True
        except sa.exc.OperationalError:
            return False


def run(task_id: int) -> None:
    """Run one queued task in this (worker) process: mark it running, call its handler, record the end."""
    task = db.session.get(BackgroundTask, task_id)
    if task is None or task.status is not TaskStatus.QUEUED:
        return  # already taken (a retried message) or removed
    task.status, task.started_at, task.heartbeat_at, task.stage = (TaskStatus.RUNNING, clock.now(), clock.now(),
                                                                   "开始")
    kind, payload, user_id = task.kind, dict(task.payload or {}), task.requested_by
    db.session.commit()
    user = db.session.get(User, user_id) if user_id else None
    reporter = Reporter(task_id)
    try:
        result = HANDLERS[kind](task_id, payload, reporter, user)
    except DomainError as exc:
        db.session.rollback()
        _finish(task_id, TaskStatus.FAILED, error=exc.message, result={"errors": exc.errors} if exc.errors else None)
        return
    except Exception:
        db.session.rollback()
        log.exception("background task %s (%s) failed", task_id, kind)
        _finish(task_id, TaskStatus.FAILED, error="任务执行出错（已记入系统日志），数据库未做修改，请稍后重试或联系系统管理员")
        return
    _finish(task_id, TaskStatus.DONE, result=result)


def _finish(task_id: int, status: TaskStatus, *, error: str | None = None, result: dict | None = None) -> None:
    task = db.session.get(BackgroundTask, task_id)
    task.status, task.error, task.result, task.finished_at = status, error, result, clock.now()
    task.stage = status.label
    if status is TaskStatus.DONE:
        task.done = task.total = max(task.total, 1)
    db.session.commit()
