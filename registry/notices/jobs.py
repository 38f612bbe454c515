"""Scheduled and background work for notices: the scheduler's jobs (registry.schedule) and the worker's tasks."""
from __future__ import annotations

import sqlalchemy as sa

from registry.errors import ValidationFailed
from registry.extensions import db
from registry.jobs.drills import pause_point
from registry.notices.batch import PRINT_TASK, RENDER_TASK, print_batch, render_missing
from registry.notices.lifecycle import mark_overdue, overdue_list
from registry.notices.models import Notice
from registry.notices.services import find_notices
from registry.notices.sources import draft_from_snapshot, link_successors, supersede_changed_drafts
from registry.notices.storage import notice_pdf_path, store_batch
from registry.orgs.models import Department
from registry.snapshots.queries import latest_snapshot
from registry.tasks.services import handler

PRINT_RESULT_PAGE = "notices.print_result"


def prerender_pending(limit: int = 5000) -> int:
    """Render and store the PDF of every notice that has none yet (nightly); return how many."""
    # Drafts have no PDF of their own: they are previewed on the fly and stored once signed.
    pending = [n for n in db.session.scalars(sa.select(Notice).where(Notice.number.is_not(None))
                                             .order_by(Notice.id).limit(limit))
               if notice_pdf_path(n) is None]
    return render_missing(pending)


@handler(RENDER_TASK)
def render_signed(task_id: int, payload: dict, progress, user) -> dict:
    """Render and store the PDFs of notices just signed (queued by signing, one task per batch)."""
    notices = list(db.session.scalars(sa.select(Notice).where(Notice.id.in_(payload["ids"]),
                                                              Notice.number.is_not(None)).order_by(Notice.id)))
    return {"count": len(notices), "rendered": render_missing(notices, progress)}


@handler(PRINT_TASK)
def print_in_background(task_id: int, payload: dict, progress, user) -> dict:
    """Merge a large batch print from stored PDFs (rendering missing ones) and keep the file for its requester."""
    notices = find_notices(user, ids=payload["ids"], signed=True)
    data = print_batch(notices, user, progress)
    store_batch(task_id, data)
    return {"count": len(notices), "bytes": len(data), "open": PRINT_RESULT_PAGE, "args": {"task_id": task_id}}


def monthly_overdue_reminder() -> list[Notice]:
    """Mark notices past their deadline overdue and return every overdue notice (the reminder list)."""
    mark_overdue()
    return overdue_list()


def generate_notices(ctx) -> dict:
    """Job `notice-generation`: draft notices (拟稿, unnumbered) for the latest snapshot's new mandatory items.

    Drafts whose findings changed are superseded and drafted again. Nothing is signed here: a
    department head signs, so a first start issues no notice. Idempotent: assets that already
    hold a draft or an open notice are skipped, so a redone run drafts nothing twice.
    """
    snapshot = latest_snapshot(ctx.as_of)
    drafted: dict[str, int] = {}
    superseded: dict[str, int] = {}
    if snapshot is not None:
        for department in db.session.scalars(sa.select(Department).order_by(Department.id)):
            changed = supersede_changed_drafts(department, snapshot.evaluation_id)
            again = sorted({a for ids in changed.values() for a in ids})
            try:
                drafts = draft_from_snapshot(None, snapshot.id, department, issued_on=ctx.as_of, only_new=True,
                                             also=again)
            except ValidationFailed:
                drafts = []  # nothing new for this department
            link_successors(changed, drafts)
            db.session.commit()
            if drafts:
                drafted[department.code] = len(drafts)
            if changed:
                superseded[department.code] = len(changed)
            # Committed for this department, not yet for the run: a drill kills -9 here (tests/test_faults.py).
            pause_point("notice-generation")
    rendered = prerender_pending()
    return {"snapshot_id": snapshot.id if snapshot else None, "drafted": drafted, "superseded": superseded,
            "rendered": rendered}
