"""A background task as people follow it, and the queue tables the task library (huey) keeps its messages in."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db_types import enum_type, utcnow
from registry.enums import TaskStatus
from registry.extensions import db

# huey's SQL storage (huey.contrib.sql_huey) keeps its queue in these four tables. They are declared
# here and created by the migrations, so the schema has one owner; the storage is told their names.
QUEUE_TABLES = {"KV": "task_queue_kv", "Schedule": "task_queue_schedule", "Task": "task_queue_items",
                "Counter": "task_queue_counters"}

task_queue_kv = sa.Table(
    QUEUE_TABLES["KV"], db.metadata,
    sa.Column("queue", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)
task_queue_schedule = sa.Table(
    QUEUE_TABLES["Schedule"], db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("queue", sa.String(255), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Index("ix_task_queue_schedule_queue_timestamp", "queue", "timestamp"),
)
task_queue_items = sa.Table(
    QUEUE_TABLES["Task"], db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("queue", sa.String(255), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("priority", sa.Float, nullable=False, server_default="0"),
    sa.Index("ix_task_queue_items_priority_id", "priority", "id"),
)
task_queue_counters = sa.Table(
    QUEUE_TABLES["Counter"], db.metadata,
    sa.Column("queue", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)


class BackgroundTask(db.Model):
    """One piece of long work a person started: its progress, and its result or error when it ends."""

    __tablename__ = "background_tasks"
    __table_args__ = (
        sa.CheckConstraint("done >= 0 AND total >= 0", name="progress_non_negative"),
        sa.Index("ix_background_tasks_requested_by", "requested_by"),
        sa.Index("ix_background_tasks_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus), default=TaskStatus.QUEUED)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    stage: Mapped[str] = mapped_column(sa.String(40), default="")
    done: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def percent(self) -> int:
        """Return the share done, 0-100 (100 once finished)."""
        if self.status in (TaskStatus.DONE, TaskStatus.FAILED):
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0
