"""Notices, their assets and lifecycle events, document-number counters, templates and seals."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.assets.models import Asset
from registry.db_types import enum_type, utcnow
from registry.enums import CompletionKind, NoticeStatus, RuleOutcome
from registry.extensions import db
from registry.orgs.models import Department, Unit


def _status_type(name: str) -> sa.Enum:
    """NoticeStatus stored as its value, with a CHECK constraint named per column (two in one table)."""
    return sa.Enum(NoticeStatus, name=name, native_enum=False, create_constraint=True, length=32,
                   values_callable=lambda cls: [m.value for m in cls], validate_strings=True)


# Statuses in which a notice still demands action (the overdue sweep looks at these).
OPEN_STATUSES = (NoticeStatus.ISSUED, NoticeStatus.SERVED, NoticeStatus.ACKNOWLEDGED)


class DocumentCounter(db.Model):
    """The last document number used per issuing department and year (row-locked when issuing)."""

    __tablename__ = "notice_counters"

    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(sa.Integer, default=0)


class Notice(db.Model):
    """One replacement notice to one owner unit from one department; never deleted."""

    __tablename__ = "notices"
    __table_args__ = (
        sa.UniqueConstraint("department_id", "year", "serial", name="uq_notices_department_year_serial"),
        sa.CheckConstraint("serial >= 1", name="serial_positive"),
        sa.Index("ix_notices_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    owner_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    serial: Mapped[int] = mapped_column(sa.Integer)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)  # 新建更〔2025〕7号
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)  # /verify/<token>
    township: Mapped[str] = mapped_column(sa.String(32), index=True)  # batch print order
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)  # the exact text issued, placeholders filled
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    template_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notice_templates.id"))
    template_version: Mapped[int | None] = mapped_column(sa.Integer)
    seal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department_seals.id"))
    status: Mapped[NoticeStatus] = mapped_column(enum_type(NoticeStatus), default=NoticeStatus.ISSUED, index=True)
    pdf_path: Mapped[str | None] = mapped_column(sa.String(255))  # relative to instance/notices
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    printed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    served_on: Mapped[date | None] = mapped_column(sa.Date)
    served_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    served_recipient: Mapped[str | None] = mapped_column(sa.String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completion_kind: Mapped[CompletionKind | None] = mapped_column(enum_type(CompletionKind))
    completion_reference: Mapped[str | None] = mapped_column(sa.String(64))
    replacement_asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"))
    voided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(sa.String(200))
    snapshot_id: Mapped[int | None] = mapped_column(sa.Integer)  # list snapshot it was issued from, if any

    department: Mapped[Department] = relationship(lazy="joined")
    owner_unit: Mapped[Unit] = relationship(lazy="joined")
    items: Mapped[list["NoticeItemRow"]] = relationship(back_populates="notice", lazy="selectin",
                                                         order_by="NoticeItemRow.position")
    events: Mapped[list["NoticeEvent"]] = relationship(back_populates="notice", lazy="select",
                                                        order_by="NoticeEvent.id")


class NoticeItemRow(db.Model):
    """One flagged asset on a notice, with the rule, figures and deadline it was issued for."""

    __tablename__ = "notice_items"
    __table_args__ = (sa.UniqueConstraint("notice_id", "asset_id", name="uq_notice_items_notice_asset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=1)
    finding_id: Mapped[int | None] = mapped_column(sa.Integer)  # rules' Finding id (no FK across branches)
    rule_code: Mapped[str] = mapped_column(sa.String(32))
    rule_version: Mapped[int] = mapped_column(sa.Integer)
    citation: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    explanation: Mapped[str] = mapped_column(sa.Text)
    figures: Mapped[dict | None] = mapped_column(sa.JSON)
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    # Frozen at issue time, so the notice never changes when the asset record does.
    asset_code: Mapped[str] = mapped_column(sa.String(40))
    asset_name: Mapped[str] = mapped_column(sa.String(120))
    asset_location: Mapped[str] = mapped_column(sa.String(200), default="")

    notice: Mapped[Notice] = relationship(back_populates="items")
    asset: Mapped[Asset] = relationship(lazy="joined")


class NoticeEvent(db.Model):
    """One lifecycle transition: who, when, from/to status and the evidence given."""

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(24))  # issue/serve/acknowledge/complete/overdue/void/print
    from_status: Mapped[NoticeStatus | None] = mapped_column(_status_type("from_status"))
    to_status: Mapped[NoticeStatus | None] = mapped_column(_status_type("to_status"))
    details: Mapped[dict | None] = mapped_column(sa.JSON)

    notice: Mapped[Notice] = relationship(back_populates="events")


class NoticeTemplate(db.Model):
    """The body text for one outcome, edited by administrators; each save bumps the version."""

    __tablename__ = "notice_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome), unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class DepartmentSeal(db.Model):
    """An uploaded seal image (印章) of an issuing department; the newest active one is used."""

    __tablename__ = "department_seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(255))  # relative to instance/seals
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
