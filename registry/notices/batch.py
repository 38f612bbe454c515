"""Many notices at once: render the missing PDFs (a process pool for many), merge stored PDFs for printing.

A signed notice's PDF is rendered by a background task queued at signing (`queue_render`), so a
download serves the stored file and a batch print only concatenates stored files. Whatever is still
missing (a task pending or failed) is rendered here, then stored, so nothing is ever rendered twice.
"""
from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa

from registry import clock
from registry.audit import services as audit
from registry.bulk import chunked
from registry.enums import TaskStatus
from registry.errors import NotFound, ValidationFailed
from registry.extensions import db
from registry.notices.models import Notice
from registry.notices.pool import render_in_pool, workers_for
from registry.notices.printing import add_event_print, ensure_pdf, render_and_store
from registry.notices.storage import notice_pdf_path, store_notice_pdf
from registry.pdf import merge_pdfs
from registry.tasks import services as tasks

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]

RENDER_TASK = "notices.render"
PRINT_TASK = "notices.print"
POOL_MIN = 8  # fewer missing PDFs than this are rendered in this process: starting the children costs more
INLINE_PRINT_MAX = 20  # a batch print of more notices from the page runs in the worker, with a progress bar
RENDER_STAGE, MERGE_STAGE = "生成 PDF", "合并"


def _step(progress: Progress | None, stage: str, total: int) -> Callable[[int], None] | None:
    return (lambda done: progress(stage, done, total)) if progress else None


def _refreshed(notices: list[Notice]) -> list[Notice]:
    """Load the expired ones of `notices` again, a few statements for all, and return `notices`."""
    # A commit expires every loaded notice; touching each one then reloads it on its own, four
    # statements a notice with its unit, department and items (3.5 s of a 200-notice print on PostgreSQL).
    expired = [sa.inspect(n).identity[0] for n in notices if sa.inspect(n).expired]
    for ids in chunked(expired):
        db.session.scalars(sa.select(Notice).where(Notice.id.in_(ids))).all()
    return notices


def render_missing(notices: list[Notice], progress: Progress | None = None) -> int:
    """Render and store the PDF of each signed notice that has no stored file; commit; return how many."""
    missing = [n for n in _refreshed(notices) if n.number and notice_pdf_path(n) is None]
    if not missing:
        return 0
    step = _step(progress, RENDER_STAGE, len(missing))
    if len(missing) < POOL_MIN:
        return render_and_store(missing, step)
    log.info("rendering %d notice PDFs in a pool of %d processes", len(missing), workers_for(len(missing)))
    for notice, data in zip(missing, render_in_pool([n.id for n in missing], step)):
        store_notice_pdf(notice, data)
    db.session.commit()
    return len(missing)


def print_batch(notices: list[Notice], user, progress: Progress | None = None) -> bytes:
    """Merge the stored PDFs of `notices` (in print order) into one, rendering missing ones; record it; commit."""
    if not notices:
        raise ValidationFailed("没有符合条件的通知书可打印")
    if render_missing(notices, progress):
        _refreshed(notices)
    data = merge_pdfs((ensure_pdf(n) for n in notices), _step(progress, MERGE_STAGE, len(notices)))
    now = clock.now()
    for notice in notices:
        notice.printed_at = now
        add_event_print(notice, user)
    audit.record("notice.print", object_type="notice", user=user,
                 details={"count": len(notices), "numbers": [n.number for n in notices]})
    db.session.commit()
    return data


def queue_render(notices: list[Notice], user):
    """Queue one background task rendering the PDFs of freshly signed notices; return it (None if it could not be queued)."""
    ids = [n.id for n in notices]
    if not ids:
        return None
    try:
        return tasks.submit(RENDER_TASK, user, {"ids": ids}, f"生成已签发通知书的 PDF（{len(ids)} 份）")
    except Exception:
        # The signing is committed: a queue outage must not turn it into an error page. Downloads and
        # batch prints render whatever is missing, and the nightly job stores the rest.
        log.exception("could not queue the PDF rendering of notices %s", ids[:20])
        return None


def queue_print(notices: list[Notice], user):
    """Queue a large batch print for the worker; return the task (its page shows the progress)."""
    if not notices:
        raise ValidationFailed("没有符合条件的通知书可打印")
    return tasks.submit(PRINT_TASK, user, {"ids": [n.id for n in notices]}, f"合并打印通知书（{len(notices)} 份）")


def finished_print(user, task_id: int):
    """Return one's own finished background batch print, or NotFound."""
    task = tasks.task_for(user, task_id)
    if task.kind != PRINT_TASK or task.status is not TaskStatus.DONE:
        raise NotFound("这项任务没有合并打印结果")
    return task
