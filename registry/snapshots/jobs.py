"""The snapshot jobs; each writes without committing (the job runner commits with the run's success)."""
from __future__ import annotations

import sqlalchemy as sa

from registry.enums import DiffStatus
from registry.extensions import db
from registry.jobs.catalog import JobContext
from registry.orgs.models import Department
from registry.snapshots.models import SnapshotItem
from registry.snapshots.queries import latest_snapshot
from registry.snapshots.services import build_snapshot


def nightly_evaluation(ctx: JobContext) -> dict:
    """Evaluate the inventory as of the period's date and write the list snapshot."""
    snapshot, created = build_snapshot(f"{ctx.job_id}:{ctx.period}", ctx.as_of, job_run_id=ctx.run_id)
    return {"snapshot_id": snapshot.id, "created": created, "items": snapshot.item_count,
            "hits": snapshot.counts.get("hits", 0), **snapshot.diff_counts}


def monthly_overdue_reminder(ctx: JobContext) -> dict:
    """Count each department's overdue findings in the latest snapshot (the reminder list links there)."""
    snapshot = latest_snapshot(ctx.as_of)
    if snapshot is None:
        return {"snapshot_id": None, "by_department": {}, "overdue": 0, "overdue_notices": _overdue_notice_count()}
    rows = db.session.execute(
        sa.select(Department.code, sa.func.count()).join(SnapshotItem, SnapshotItem.department_id == Department.id)
        .where(SnapshotItem.snapshot_id == snapshot.id, SnapshotItem.overdue.is_(True),
               SnapshotItem.result == "hit", SnapshotItem.diff != DiffStatus.RESOLVED)
        .group_by(Department.code).order_by(Department.code)).all()
    by_department = {code: n for code, n in rows}
    return {"snapshot_id": snapshot.id, "by_department": by_department, "overdue": sum(by_department.values()),
            "overdue_notices": _overdue_notice_count()}


def _overdue_notice_count() -> int:
    """Mark notices past their deadline overdue; return how many are overdue (they join the reminder list)."""
    # Notices sit above snapshots: the monthly job reaches up at run time instead of at import.
    from registry.notices.jobs import monthly_overdue_reminder as notices_overdue
    return len(notices_overdue())
