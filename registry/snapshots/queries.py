"""Read snapshots as a user may see them: department scoping and the list filters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from registry.accounts.scoping import department_scope
from registry.enums import Category, DiffStatus, JobStatus, RuleOutcome
from registry.errors import NotFound
from registry.extensions import db
from registry.jobs.models import JobRun
from registry.orgs.models import Department
from registry.snapshots.models import Snapshot, SnapshotItem

DIFF_FILTERS = {"new": "新增", "still_open": "仍未整改", "resolved": "已消除", "overdue": "已逾期"}
RESULT_FILTERS = {"hit": "命中", "undeterminable": "无法评估"}


def item_scope(user):
    """Return a SQL condition limiting snapshot items to the departments `user` may read."""
    return department_scope(user, SnapshotItem.department_id)


@dataclass
class ItemFilter:
    """The list filters, parsed from query arguments; unknown values are ignored, never a 500."""

    department: str = ""
    category: str = ""
    township: str = ""
    outcome: str = ""
    result: str = ""
    diff: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "ItemFilter":
        """Build a filter from request arguments, dropping values that are not valid choices."""
        f = cls(**{k: (args.get(k) or "").strip()[:60] for k in cls.__dataclass_fields__})
        if f.category not in Category.values():
            f.category = ""
        if f.outcome not in RuleOutcome.values():
            f.outcome = ""
        if f.result not in RESULT_FILTERS:
            f.result = ""
        if f.diff not in DIFF_FILTERS:
            f.diff = ""
        return f

    def args(self) -> dict:
        """Return the non-empty filters (for links that keep them)."""
        return {k: v for k, v in self.__dict__.items() if v}

    def conditions(self) -> list:
        """Return the SQL conditions of this filter."""
        conds = []
        if self.department:
            conds.append(SnapshotItem.department_id == sa.select(Department.id)
                         .where(Department.code == self.department).scalar_subquery())
        if self.category:
            conds.append(SnapshotItem.category == Category(self.category))
        if self.township:
            conds.append(SnapshotItem.township == self.township)
        if self.outcome:
            conds.append(SnapshotItem.outcome == RuleOutcome(self.outcome))
        if self.result:
            conds.append(SnapshotItem.result == self.result)
        if self.diff == "overdue":
            conds += [SnapshotItem.overdue.is_(True), SnapshotItem.diff != DiffStatus.RESOLVED]
        elif self.diff:
            conds.append(SnapshotItem.diff == DiffStatus(self.diff))
        if self.q:
            like = f"%{self.q}%"
            conds.append(sa.or_(SnapshotItem.asset_code.ilike(like), SnapshotItem.asset_name.ilike(like),
                                SnapshotItem.owner_unit.ilike(like)))
        return conds


def get_snapshot(snapshot_id: int) -> Snapshot:
    """Return the snapshot or raise NotFound."""
    snapshot = db.session.get(Snapshot, snapshot_id)
    if snapshot is None:
        raise NotFound(f"快照 #{snapshot_id} 不存在")
    return snapshot


def items_query(snapshot: Snapshot, user, item_filter: ItemFilter):
    """Return the select of the snapshot's items `user` may see, filtered and ordered for the list."""
    order = sa.case((SnapshotItem.diff == DiffStatus.RESOLVED, 1), else_=0)
    return (sa.select(SnapshotItem).where(SnapshotItem.snapshot_id == snapshot.id, item_scope(user),
                                          *item_filter.conditions())
            .order_by(order, SnapshotItem.overdue.desc(), SnapshotItem.department_id, SnapshotItem.category,
                      SnapshotItem.asset_code, SnapshotItem.rule_code))


def items_page(snapshot: Snapshot, user, item_filter: ItemFilter, page: int, size: int) -> list[SnapshotItem]:
    """Return page `page` (from 1) of the items `items_query` would return."""
    return list(db.session.scalars(items_query(snapshot, user, item_filter).limit(size).offset((page - 1) * size)))


def previous_of(snapshot: Snapshot) -> Snapshot | None:
    """Return the snapshot this one was diffed against, if any."""
    return db.session.get(Snapshot, snapshot.previous_id) if snapshot.previous_id else None


def count_items(snapshot: Snapshot, user, item_filter: ItemFilter) -> int:
    """Count the items `items_query` would return."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotItem).where(
        SnapshotItem.snapshot_id == snapshot.id, item_scope(user), *item_filter.conditions()))


def scoped_summary(snapshot: Snapshot, user) -> dict:
    """Count the hits the user may see per diff status, category, department and township."""
    base = [SnapshotItem.snapshot_id == snapshot.id, item_scope(user)]
    hit = SnapshotItem.result == "hit"
    open_ = SnapshotItem.diff != DiffStatus.RESOLVED

    def grouped(col, *conds):
        return dict(db.session.execute(sa.select(col, sa.func.count()).where(*base, *conds).group_by(col)
                                       .order_by(col)).all())

    by_diff = grouped(SnapshotItem.diff, hit)
    depts = {d.id: d for d in db.session.scalars(sa.select(Department))}
    return {
        "hits": sum(n for d, n in by_diff.items() if d is not DiffStatus.RESOLVED),
        "new": by_diff.get(DiffStatus.NEW, 0),
        "still_open": by_diff.get(DiffStatus.STILL_OPEN, 0),
        "resolved": by_diff.get(DiffStatus.RESOLVED, 0),
        "overdue": db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotItem).where(
            *base, hit, open_, SnapshotItem.overdue.is_(True))),
        "undeterminable": db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotItem).where(
            *base, open_, SnapshotItem.result == "undeterminable")),
        "by_category": grouped(SnapshotItem.category, hit, open_),
        "by_department": {depts[k]: v for k, v in grouped(SnapshotItem.department_id, hit, open_).items()},
        "by_township": grouped(SnapshotItem.township, hit, open_),
    }


def visible_departments(user) -> list[Department]:
    """Return the departments whose lists `user` may read."""
    return list(db.session.scalars(sa.select(Department).where(department_scope(user, Department.id))
                                   .order_by(Department.id)))


# The one order of snapshots, newest first: by the list's date, then by when it was written.
NEWEST_FIRST = (Snapshot.as_of.desc(), Snapshot.id.desc())


def latest_snapshot(as_of: date | None = None) -> Snapshot | None:
    """Return the newest snapshot dated `as_of` or earlier (None: any date), by NEWEST_FIRST; None if there is none.

    The one definition of "the latest snapshot": the list a new snapshot is diffed against, the
    monthly reminder counts and the notice job issues from.
    """
    query = sa.select(Snapshot)
    if as_of is not None:
        query = query.where(Snapshot.as_of <= as_of)
    return db.session.scalar(query.order_by(*NEWEST_FIRST).limit(1))


def list_snapshots(limit: int = 60) -> list[Snapshot]:
    """Return the latest snapshots, newest first."""
    return list(db.session.scalars(sa.select(Snapshot).order_by(*NEWEST_FIRST).limit(limit)))


def latest_reminder(departments: list[Department]) -> dict | None:
    """Return the latest monthly overdue reminder: its run, snapshot and the counts of `departments`."""
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job_id == "monthly-overdue-reminder",
                                                    JobRun.status == JobStatus.SUCCEEDED)
                            .order_by(JobRun.id.desc()).limit(1))
    if run is None or not (run.counts or {}).get("snapshot_id"):
        return None
    by_code = run.counts.get("by_department", {})
    return {"run": run, "snapshot_id": run.counts["snapshot_id"],
            "rows": [(d, by_code.get(d.code, 0)) for d in departments]}
