"""Rule versions, evaluation runs and the findings they produce."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db_types import enum_type, utcnow
from registry.enums import Category, RuleOutcome
from registry.extensions import db


class Rule(db.Model):
    """One version of one rule: kind + params + citation; editing adds a new row."""

    __tablename__ = "rules"
    __table_args__ = (
        sa.UniqueConstraint("code", "version", name="uq_rules_code_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_rules_code_is_current", "code", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    title: Mapped[str] = mapped_column(sa.String(200))
    citation: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(32))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    deadline_policy: Mapped[dict | None] = mapped_column(sa.JSON)
    effective_from: Mapped[date | None] = mapped_column(sa.Date)
    effective_to: Mapped[date | None] = mapped_column(sa.Date)
    enabled: Mapped[bool] = mapped_column(default=True)
    pack: Mapped[str] = mapped_column(sa.String(16), default="plan")  # "plan" | "national"
    verified: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)  # the reading taken, shown to users
    is_current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Evaluation(db.Model):
    """One whole-inventory (or one-category) evaluation run as of a date."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(sa.Date, index=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rule_versions: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {code: version}
    category: Mapped[Category | None] = mapped_column(enum_type(Category))
    asset_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    finding_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    findings: Mapped[list["Finding"]] = relationship(back_populates="evaluation", lazy="noload")


class Finding(db.Model):
    """One rule flagging (or unable to judge) one asset in one evaluation."""

    __tablename__ = "findings"
    __table_args__ = (
        # One index serves both the evaluation listing and an asset's findings in an evaluation;
        # a second one would slow the bulk INSERT … SELECT for little gain.
        sa.Index("ix_findings_evaluation_id_asset_id", "evaluation_id", "asset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("rules.id"))
    rule_code: Mapped[str] = mapped_column(sa.String(32))
    rule_version: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    result: Mapped[str] = mapped_column(sa.String(16))  # "hit" | "undeterminable"
    explanation: Mapped[str] = mapped_column(sa.Text)
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    overdue: Mapped[bool] = mapped_column(default=False)
    as_of: Mapped[date] = mapped_column(sa.Date)
    figures: Mapped[dict | None] = mapped_column(sa.JSON)

    evaluation: Mapped[Evaluation] = relationship(back_populates="findings")
    rule: Mapped[Rule] = relationship(lazy="joined")
