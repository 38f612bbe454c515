"""Notices, their assets and lifecycle events, document-number counters, templates and seals."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.assets.models import Asset
from registry.db_types import EventRow, enum_type, utcnow
from registry.enums import CompletionKind, NoticeStatus, RuleOutcome
from registry.extensions import db
from registry.orgs.models import Department, Unit


def _status_type(name: str) -> sa.Enum:
    """NoticeStatus stored as its value, with a CHECK constraint named per column (two in one table)."""
    return sa.Enum(NoticeStatus, name=name, native_enum=False, create_constraint=True, length=32,
                   values_callable=lambda cls: [m.value for m in cls], validate_strings=True)


# Statuses in which a signed notice still demands action (the overdue sweep looks at these).
OPEN_STATUSES = (NoticeStatus.ISSUED, NoticeStatus.SERVED, NoticeStatus.ACKNOWLEDGED)
# Final statuses: nothing changes a notice in one of these any more.
FINAL_STATUSES = (NoticeStatus.COMPLETED, NoticeStatus.VOIDED, NoticeStatus.DISCARDED, NoticeStatus.SUPERSEDED)


class DocumentCounter(db.Model):
    """The last document number used per issuing department and year (row-locked when issuing)."""

    __tablename__ = "notice_counters"

    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(sa.Integer, default=0)


class Notice(db.Model):
    """One replacement notice to one owner unit from one department; never deleted.

    It starts as a draft (拟稿): no number, no token, no PDF. Signing by the department head
    (签发) gives it the next number, the token of its QR code and its 发文日期.
    """

    __tablename__ = "notices"
    __table_args__ = (
        sa.UniqueConstraint("department_id", "year", "serial", name="uq_notices_department_year_serial"),
        sa.CheckConstraint("serial >= 1", name="serial_positive"),
        sa.Index("ix_notices_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    owner_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Number and token are taken at signing; a draft has neither (NULLs never collide in a UNIQUE).
    year: Mapped[int | None] = mapped_column(sa.Integer)
    serial: Mapped[int | None] = mapped_column(sa.Integer)
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)  # 新建更〔2025〕7号
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)  # /verify/<token>
    township: Mapped[str] = mapped_column(sa.String(32), index=True)  # batch print order
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)  # the exact text issued, placeholders filled
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    # 发文日期: the date proposed by the draft (deadlines count from it), then the signing date.
    issued_on: Mapped[date] = mapped_column(sa.Date)
    issued_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))  # signed at
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # the signing head
    drafted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    drafted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the scheduled job
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id"))
    template_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notice_templates.id"))
    template_version: Mapped[int | None] = mapped_column(sa.Integer)
    seal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department_seals.id"))
    status: Mapped[NoticeStatus] = mapped_column(enum_type(NoticeStatus), default=NoticeStatus.DRAFT, index=True)
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
    voided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))  # voided or discarded
    void_reason: Mapped[str | None] = mapped_column(sa.String(200))  # why voided or discarded
    snapshot_id: Mapped[int | None] = mapped_column(sa.Integer)  # list snapshot it was issued from, if any

    department: Mapped[Department] = relationship(lazy="joined")
    owner_unit: Mapped[Unit] = relationship(lazy="joined")
    items: Mapped[list["NoticeItemRow"]] = relationship(back_populates="notice", lazy="selectin",
                                                         order_by="NoticeItemRow.position")
    events: Mapped[list["NoticeEvent"]] = relationship(back_populates="notice", lazy="select",
                                                        order_by="NoticeEvent.id")

    @property
    def is_draft(self) -> bool:
        """Tell whether the notice is an unsigned draft (no number yet)."""
        return self.status is NoticeStatus.DRAFT

    @property
    def label(self) -> str:
        """Return the number, or 拟稿#id for an unnumbered draft (for messages and lists)."""
        return self.number or f"拟稿#{self.id}"


class NoticeItemRow(db.Model):
    """One flagged asset on a notice, with the rule, figures and deadline it was issued for."""

    __tablename__ = "notice_items"
    __table_args__ = (sa.UniqueConstraint("notice_id", "asset_id", name="uq_notice_items_notice_asset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=1)
    finding_id: Mapped[int | None] = mapped_column(sa.Integer)  # rules' Finding id (no FK: findings of old evaluations may be pruned)
    rule_code: Mapped[str] = mapped_column(sa.String(32))
    rule_version: Mapped[int] = mapped_column(sa.Integer)
    citation: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    explanation: Mapped[str] = mapped_column(sa.Text)
    figures: Mapped[dict | None] = mapped_column(sa.JSON)
    deadline: Mapped[date | None] = mapped_column(sa.Date)  # the earliest of its findings' deadlines on the notice
    # The rule's fixed date that had passed when the notice was issued: the reason the deadline was reset.
    rule_deadline: Mapped[date | None] = mapped_column(sa.Date)
    # Every mandatory finding of the asset, strictest first (rule_code … above are the first one's):
    # [{rule_code, rule_version, citation, outcome, explanation, figures, finding_id, deadline, days, rule_deadline}]
    findings: Mapped[list | None] = mapped_column(sa.JSON)
    # Frozen at issue time, so the notice never changes when the asset record does.
    asset_code: Mapped[str] = mapped_column(sa.String(40))
    asset_name: Mapped[str] = mapped_column(sa.String(120))
    asset_location: Mapped[str] = mapped_column(sa.String(200), default="")

    notice: Mapped[Notice] = relationship(back_populates="items")
    asset: Mapped[Asset] = relationship(lazy="joined")

    @property
    def all_findings(self) -> list[dict]:
        """Return every finding this item was issued for (rows issued before findings were kept: the one)."""
        if self.findings:
            return self.findings
        return [{"rule_code": self.rule_code, "rule_version": self.rule_version, "citation": self.citation,
                 "outcome": self.outcome.value, "explanation": self.explanation, "figures": self.figures,
                 "finding_id": self.finding_id, "deadline": self.deadline.isoformat() if self.deadline else None,
                 "days": None, "rule_deadline": None}]

    def is_overdue(self, on: date) -> bool:
        """Tell whether the asset's demand is overdue on `on`: by the notice's deadline, not the rule's own date."""
        return (self.notice.status in (*OPEN_STATUSES, NoticeStatus.OVERDUE)
                and self.deadline is not None and self.deadline < on)


class NoticeEvent(EventRow, db.Model):
    """One lifecycle transition: who, when, from/to status and the evidence given."""

    __tablename__ = "notice_events"

    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"), index=True)
    # draft/sign/discard/supersede/serve/acknowledge/complete/overdue/void/print ("issue": before drafts existed)
    action: Mapped[str] = mapped_column(sa.String(24))
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
