"""Disposal records (one per asset that left service), their scanned documents, and replacement records."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.assets.models import Asset
from registry.db_types import RecordedBy, enum_type, utcnow
from registry.enums import BaselineMeasure, DisposalWay, EfficiencyLevel, FundingSource
from registry.extensions import db
from registry.orgs.models import Department


class _Entered(RecordedBy):
    """Mixin of the records a user enters on the disposal pages: a free note, who recorded it and when."""

    note: Mapped[str] = mapped_column(sa.Text, default="")


class Disposal(_Entered, db.Model):
    """How, when and to whom one asset left service, with its certificate numbers; never deleted."""

    __tablename__ = "disposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), unique=True)  # an asset leaves service once
    way: Mapped[DisposalWay] = mapped_column(enum_type(DisposalWay))
    disposed_on: Mapped[date] = mapped_column(sa.Date, index=True)
    receiver: Mapped[str] = mapped_column(sa.String(120))  # the receiving enterprise (recycler, buyer, unit)
    # 报废机动车回收证明 number and 注销登记 number: each names one asset only.
    recycling_certificate_no: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    deregistration_no: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    asset: Mapped[Asset] = relationship(lazy="joined")
    documents: Mapped[list["DisposalDocument"]] = relationship(back_populates="disposal", lazy="selectin",
                                                                order_by="DisposalDocument.id")


class DisposalDocument(db.Model):
    """One scanned document or photo of a disposal (PDF/JPEG/PNG), stored under DISPOSAL_FILES_DIR."""

    __tablename__ = "disposal_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    disposal_id: Mapped[int] = mapped_column(sa.ForeignKey("disposals.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(255))  # relative; the file name is random, never the uploader's
    content_type: Mapped[str] = mapped_column(sa.String(32))
    original_name: Mapped[str] = mapped_column(sa.String(120), default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    disposal: Mapped[Disposal] = relationship(back_populates="documents")


class Replacement(_Entered, db.Model):
    """A new asset, what it cost and how it was paid, linked to the one or more assets it replaces."""

    __tablename__ = "replacements"
    __table_args__ = (
        sa.CheckConstraint("investment_yuan >= 0 AND investment_yuan <= 1000000000", name="investment_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    new_asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), unique=True)
    replaced_on: Mapped[date] = mapped_column(sa.Date, index=True)
    investment_yuan: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    funding_source: Mapped[FundingSource] = mapped_column(enum_type(FundingSource))
    efficiency_level: Mapped[EfficiencyLevel | None] = mapped_column(enum_type(EfficiencyLevel))
    emission_standard: Mapped[str | None] = mapped_column(sa.String(32))
    new_energy: Mapped[bool] = mapped_column(default=False)

    new_asset: Mapped[Asset] = relationship(lazy="joined")
    links: Mapped[list["ReplacementLink"]] = relationship(back_populates="replacement", lazy="selectin",
                                                           order_by="ReplacementLink.old_asset_id")


class ReplacementLink(db.Model):
    """One asset replaced by a replacement record (an asset is replaced once)."""

    __tablename__ = "replacement_links"

    replacement_id: Mapped[int] = mapped_column(sa.ForeignKey("replacements.id"), primary_key=True)
    old_asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), primary_key=True, unique=True)

    replacement: Mapped[Replacement] = relationship(back_populates="links")
    old_asset: Mapped[Asset] = relationship(lazy="joined")


class Baseline(db.Model):
    """A 2023 baseline the task force entered for one department: investment per sector, or scrapped cars recycled."""

    __tablename__ = "plan_baselines"
    __table_args__ = (
        sa.UniqueConstraint("measure", "department_id", "sector", "year",
                            name="uq_plan_baselines_measure_department_sector_year"),
        sa.CheckConstraint("value >= 0", name="value_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[BaselineMeasure] = mapped_column(enum_type(BaselineMeasure))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    sector: Mapped[str] = mapped_column(sa.String(32), default="")  # a category value; "" for scrapped cars
    year: Mapped[int] = mapped_column(sa.Integer, default=2023)
    value: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2))  # 元 for investment, 辆 for scrapped cars
    note: Mapped[str] = mapped_column(sa.String(200), default="")  # where the figure comes from
    version: Mapped[int] = mapped_column(sa.Integer, default=1)  # optimistic concurrency, as assets.version
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
