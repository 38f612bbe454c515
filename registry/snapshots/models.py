"""A snapshot and its items: copies of the findings, frozen when the snapshot is written."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from registry.db_types import enum_type, utcnow
from registry.enums import Category, DiffStatus, RuleOutcome
from registry.extensions import db


class Snapshot(db.Model):
    """The list as of a date: rule versions used, counts, content hash, and the diff to the previous one."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One snapshot per job period ("nightly-evaluation:2026-11-30"): a redo cannot duplicate it.
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id"))
    as_of: Mapped[date] = mapped_column(sa.Date, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    evaluation_id: Mapped[int | None] = mapped_column(sa.Integer)  # the rules engine's evaluation, if any
    rule_versions: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {code: version}
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    diff_counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # new / resolved / still_open / overdue
    item_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    # active_history: a change loads the stored hash first, so the guard below can see it was sealed.
    content_hash: Mapped[str] = mapped_column(sa.String(64), active_history=True)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("snapshots.id"))


class SnapshotItem(db.Model):
    """One finding as it stood in a snapshot (or, with diff 'resolved', one that left the list)."""

    __tablename__ = "snapshot_items"
    __table_args__ = (
        sa.Index("ix_snapshot_items_snapshot_department", "snapshot_id", "department_id"),
        sa.Index("ix_snapshot_items_snapshot_diff", "snapshot_id", "diff"),
        # The diff looks up "the same finding" in the previous snapshot by asset.
        sa.Index("ix_snapshot_items_snapshot_asset", "snapshot_id", "asset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("snapshots.id"))
    diff: Mapped[DiffStatus] = mapped_column(enum_type(DiffStatus))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    asset_code: Mapped[str] = mapped_column(sa.String(40))
    asset_name: Mapped[str] = mapped_column(sa.String(120))
    category: Mapped[Category] = mapped_column(enum_type(Category))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    township: Mapped[str] = mapped_column(sa.String(32))
    owner_unit: Mapped[str] = mapped_column(sa.String(128))
    rule_code: Mapped[str] = mapped_column(sa.String(32))
    rule_version: Mapped[int] = mapped_column(sa.Integer)
    citation: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    result: Mapped[str] = mapped_column(sa.String(16))  # hit | undeterminable
    explanation: Mapped[str] = mapped_column(sa.Text)
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    overdue: Mapped[bool] = mapped_column(default=False)
    figures: Mapped[dict | None] = mapped_column(sa.JSON)


def _was_sealed(snapshot: Snapshot) -> bool:
    history = sa.inspect(snapshot).attrs.content_hash.history
    # A changed hash keeps its stored value in history; otherwise the current value is the stored one.
    before = history.deleted[0] if history.deleted else snapshot.content_hash
    return bool(before)


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx, _instances) -> None:
    # Snapshots are evidence: once sealed with their hash, the ORM refuses to change or delete them.
    for obj in session.deleted:
        if isinstance(obj, (Snapshot, SnapshotItem)):
            raise RuntimeError("快照一经生成不可修改或删除")
    for obj in session.dirty:
        if isinstance(obj, SnapshotItem) and session.is_modified(obj):
            raise RuntimeError("快照一经生成不可修改或删除")
        if isinstance(obj, Snapshot) and session.is_modified(obj) and _was_sealed(obj):
            raise RuntimeError("快照一经生成不可修改或删除")
