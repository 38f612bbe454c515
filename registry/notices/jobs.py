"""Scheduled work for notices; the scheduler (jobs branch) calls these with an app context."""
from __future__ import annotations

import sqlalchemy as sa

from registry.extensions import db
from registry.jobs.drills import pause_point
from registry.notices.lifecycle import mark_overdue, overdue_list
from registry.notices.models import Notice
from registry.notices.printing import render_and_store
from registry.notices.storage import notice_pdf_path


def prerender_pending(limit: int = 5000) -> int:
    """Render and store the PDF of every notice that has none yet (nightly); return how many."""
    pending = [n for n in db.session.scalars(sa.select(Notice).order_by(Notice.id).limit(limit))
               if notice_pdf_path(n) is None]
    return render_and_store(pending) if pending else 0


def monthly_overdue_reminder() -> list[Notice]:
    """Mark notices past their deadline overdue and return every overdue notice (the reminder list)."""
    mark_overdue()
    return overdue_list()


def generate_notices(ctx) -> dict:
    """Job `notice-generation`: issue notices for the newly mandatory items of the latest snapshot, then pre-render.

    Idempotent: assets that already hold an open notice are skipped, so a redone run issues nothing twice.
    """
    from registry.errors import ValidationFailed
    from registry.notices.sources import issue_from_snapshot
    from registry.orgs.models import Department
    from registry.snapshots.models import Snapshot
    snapshot = db.session.scalar(sa.select(Snapshot).where(Snapshot.as_of <= ctx.as_of)
                                 .order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1))
    issued: dict[str, int] = {}
    if snapshot is not None:
        for department in db.session.scalars(sa.select(Department).order_by(Department.id)):
            try:
                notices = issue_from_snapshot(None, snapshot.id, department, issued_on=ctx.as_of, only_new=True)
            except ValidationFailed:
                continue  # nothing new for this department
            issued[department.code] = len(notices)
            # Committed for this department, not yet for the run: a drill kills -9 here (tests/test_faults.py).
            pause_point("notice-generation")
    rendered = prerender_pending()
    return {"snapshot_id": snapshot.id if snapshot else None, "issued": issued, "rendered": rendered}
