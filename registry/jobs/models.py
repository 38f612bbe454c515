"""The record of every job run: one row per attempt of a (job, period)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db_types import enum_type, utcnow
from registry.enums import JobStatus
from registry.errors import without_exception_name
from registry.extensions import db


class JobRun(db.Model):
    """One attempt to run a job for one period (a day, a month, a year or a manual key)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        # The database itself refuses two attempts with the same number for one period:
        # a claim computes attempt = last + 1 under the job lock, and a racing claim fails here.
        sa.UniqueConstraint("job_id", "period", "attempt", name="uq_job_runs_job_period_attempt"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        sa.Index("ix_job_runs_job_id_period", "job_id", "period"),
        sa.Index("ix_job_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(64))
    period: Mapped[str] = mapped_column(sa.String(40))
    attempt: Mapped[int] = mapped_column(sa.Integer, default=1)
    trigger: Mapped[str] = mapped_column(sa.String(16))  # schedule / catch-up / manual / cli
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus))
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    host: Mapped[str | None] = mapped_column(sa.String(128))
    pid: Mapped[int | None] = mapped_column(sa.Integer)
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    acknowledged_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def duration_seconds(self) -> float | None:
        """Return how long the run took, when it has finished."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def error_summary(self) -> str:
        """Return the error as a person reads it: without the exception's class name (kept in the stored text)."""
        return without_exception_name(self.error)
