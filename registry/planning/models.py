"""Plan targets, replacement cost estimates, plans, their placements, pins and workflow events."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db_types import EventRow, enum_type, utcnow
from registry.enums import Category, PlanStatus, RuleOutcome, TargetMeasure
from registry.extensions import db
from registry.orgs.models import Department


class PlanTarget(db.Model):
    """A target of the plan for one department and category: a count or a percentage by a deadline year."""

    __tablename__ = "plan_targets"
    __table_args__ = (
        sa.CheckConstraint("value >= 0", name="value_nonnegative"),
        sa.CheckConstraint("measure <> 'percentage' OR value <= 100", name="percentage_max"),
        sa.CheckConstraint("deadline_year >= start_year", name="years_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    category: Mapped[Category] = mapped_column(enum_type(Category))
    title: Mapped[str] = mapped_column(sa.String(200))
    measure: Mapped[TargetMeasure] = mapped_column(enum_type(TargetMeasure))
    value: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    start_year: Mapped[int] = mapped_column(sa.Integer)
    deadline_year: Mapped[int] = mapped_column(sa.Integer)
    citation: Mapped[str] = mapped_column(sa.String(200))
    # False for targets that retirement findings cannot feed (elevators ADDED to existing homes).
    fed_by_findings: Mapped[bool] = mapped_column(default=True)
    # True when the target is spread over yearly batches (construction machinery): quota suggestion per year.
    yearly_batches: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    department: Mapped[Department] = relationship(lazy="joined")


class ReplacementCost(db.Model):
    """Editable estimated replacement cost (元) per category, optionally per type within it."""

    __tablename__ = "replacement_costs"
    __table_args__ = (
        sa.UniqueConstraint("category", "asset_type", name="uq_replacement_costs_category_type"),
        sa.CheckConstraint("unit_cost >= 0", name="unit_cost_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    asset_type: Mapped[str] = mapped_column(sa.String(40), default="")  # "" = the category's default
    unit_cost: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Plan(db.Model):
    """One revision of a multi-year renewal plan, citywide or for one department."""

    __tablename__ = "plans"
    __table_args__ = (
        sa.CheckConstraint("year_to >= year_from", name="years_ordered"),
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    year_from: Mapped[int] = mapped_column(sa.Integer)
    year_to: Mapped[int] = mapped_column(sa.Integer)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    status: Mapped[PlanStatus] = mapped_column(enum_type(PlanStatus), default=PlanStatus.DRAFT, index=True)
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id"))
    # The rules evaluation the placements come from (no FK: the rules tables live in another migration).
    evaluation_id: Mapped[int | None] = mapped_column(sa.Integer)
    evaluation_as_of: Mapped[date | None] = mapped_column(sa.Date)
    quotas: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # {category: {year: count}}
    budgets: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {year: 元}
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # built figures: per year, shortfalls, overruns
    built_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def years(self) -> list[int]:
        """Return the plan's years in order."""
        return list(range(self.year_from, self.year_to + 1))


class PlanPlacement(db.Model):
    """One flagged asset in one plan: the year it is placed in (NULL = does not fit), with the reason."""

    __tablename__ = "plan_placements"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "asset_id", name="uq_plan_placements_plan_asset"),
        sa.Index("ix_plan_placements_plan_id_year_rank", "plan_id", "year", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    year: Mapped[int | None] = mapped_column(sa.Integer)
    rank: Mapped[int] = mapped_column(sa.Integer)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    department_id: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[RuleOutcome] = mapped_column(enum_type(RuleOutcome))
    mandatory: Mapped[bool] = mapped_column(default=False)
    overdue_months: Mapped[int] = mapped_column(sa.Integer, default=0)
    years_beyond: Mapped[float | None] = mapped_column(sa.Float)
    condition_rank: Mapped[int | None] = mapped_column(sa.Integer)
    rule_code: Mapped[str] = mapped_column(sa.String(32))
    est_cost: Mapped[int | None] = mapped_column(sa.BigInteger)
    pinned: Mapped[bool] = mapped_column(default=False)
    explanation: Mapped[str] = mapped_column(sa.Text)


class PlanPin(db.Model):
    """A manual placement of an asset in a year, kept across rebuilds; `removed_at` ends it."""

    __tablename__ = "plan_pins"
    __table_args__ = (sa.UniqueConstraint("plan_id", "asset_id", name="uq_plan_pins_plan_asset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    year: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PlanEvent(EventRow, db.Model):
    """A workflow step or comment on a plan: who, when, from which status to which, and what they wrote."""

    __tablename__ = "plan_events"
    __table_args__ = (sa.Index("ix_plan_events_plan_id_id", "plan_id", "id"),)

    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    action: Mapped[str] = mapped_column(sa.String(16))  # a key of EVENT_LABELS
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    comment: Mapped[str | None] = mapped_column(sa.Text)

    user = relationship("User", lazy="joined")

    @property
    def action_label(self) -> str:
        """Return the Chinese name of the step."""
        return EVENT_LABELS.get(self.action, self.action)


EVENT_LABELS = {"build": "编制", "submit": "上报", "return": "退回修改", "approve": "审批通过", "lock": "锁定",
                "comment": "意见", "pin": "人工指定", "unpin": "取消指定", "revise": "新建修订",
                "supersede": "被新修订取代", "settings": "调整配额预算"}
