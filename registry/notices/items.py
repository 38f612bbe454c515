"""What a notice is made from: the mandatory findings of flagged assets, and the deadline each sets.

`NoticeItem` decouples notices from the rules engine's tables (one finding of one asset);
`item_from_finding` adapts the engine's Finding rows to it. `NoticeAsset` gathers every finding
of one asset, strictest outcome first, with the earliest deadline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from registry.assets.models import Asset
from registry.enums import RuleOutcome


@dataclass(frozen=True)
class Deadline:
    """A deadline on a notice and how it was set (what the notice says about it)."""

    due: date
    days: int | None = None  # counted this many days after the notice date
    passed_rule_date: date | None = None  # the rule's fixed date, already past when the notice was issued

    def as_json(self) -> dict:
        """Return the deadline as stored with the notice's findings."""
        return {"deadline": self.due.isoformat(), "days": self.days,
                "rule_deadline": self.passed_rule_date.isoformat() if self.passed_rule_date else None}


@dataclass
class NoticeItem:
    """One mandatory finding of one asset: the rule, citation, figures and deadline behind it."""

    asset: Asset
    rule_code: str
    rule_version: int
    citation: str
    outcome: RuleOutcome
    explanation: str
    figures: dict | None = None
    deadline: date | None = None  # the rule's fixed date, if it sets one
    deadline_days: int | None = None  # for "N days after the notice" policies
    finding_id: int | None = None
    mandatory: bool = True  # False when the finding could not be determined
    late_days: int | None = None  # days after the notice once the fixed date has passed (None: config default)

    def deadline_for(self, issued_on: date, default_days: int) -> Deadline:
        """Return the deadline for a notice issued on `issued_on`: never before that date.

        A fixed date still ahead is kept; one already past gives `late_days` (or the default)
        after the notice date, and is kept as the reason.
        """
        if self.deadline is not None and self.deadline >= issued_on:
            return Deadline(self.deadline)
        if self.deadline is not None:
            days = self.late_days or default_days
            return Deadline(issued_on + timedelta(days=days), days, self.deadline)
        days = self.deadline_days or default_days
        return Deadline(issued_on + timedelta(days=days), days)


@dataclass
class NoticeAsset:
    """Every mandatory finding of one asset on a notice, the strictest outcome first."""

    asset: Asset
    items: list[NoticeItem]
    deadlines: list[Deadline] = field(default_factory=list)

    @property
    def outcome(self) -> RuleOutcome:
        """Return the strictest outcome of the asset's findings."""
        return self.items[0].outcome

    @property
    def deadline(self) -> Deadline:
        """Return the earliest of the findings' deadlines (set by `with_deadlines`)."""
        return min(self.deadlines, key=lambda d: (d.due, d.passed_rule_date is None))

    @property
    def citations(self) -> list[str]:
        """Return the distinct citations, strictest finding first."""
        return list(dict.fromkeys(i.citation for i in self.items if i.citation))

    def with_deadlines(self, issued_on: date, default_days: int) -> "NoticeAsset":
        """Compute each finding's deadline for a notice issued on `issued_on`; return self."""
        self.deadlines = [i.deadline_for(issued_on, default_days) for i in self.items]
        return self


def by_asset(items: list[NoticeItem]) -> list[NoticeAsset]:
    """Gather items per asset (one per rule code), strictest outcome first, then by rule code."""
    grouped: dict[int, dict[str, NoticeItem]] = {}
    for it in items:
        grouped.setdefault(it.asset.id, {}).setdefault(it.rule_code, it)
    return [NoticeAsset(asset=next(iter(rules.values())).asset,
                        items=sorted(rules.values(), key=lambda i: (-i.outcome.severity, i.rule_code)))
            for rules in grouped.values()]


def item_from_finding(finding, asset: Asset) -> NoticeItem:
    """Adapt one rules-engine Finding (with its Rule) and its asset to a NoticeItem."""
    rule = finding.rule
    policy = (rule.deadline_policy or {}) if rule is not None else {}
    days = int(policy["days"]) if policy.get("type") == "days_after_notice" else None
    late = int(policy["late_days"]) if policy.get("type") == "fixed" and policy.get("late_days") else None
    return NoticeItem(
        asset=asset, rule_code=finding.rule_code, rule_version=finding.rule_version,
        citation=rule.citation if rule is not None else "", outcome=finding.outcome,
        explanation=finding.explanation, figures=finding.figures, deadline=finding.deadline,
        deadline_days=days, finding_id=finding.id, late_days=late,
        mandatory=finding.result == "hit" and finding.outcome.is_mandatory,
    )
