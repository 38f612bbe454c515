"""What a notice is made from: one flagged asset with the rule that flagged it.

`NoticeItem` decouples notices from the rules engine's tables; `items_from_findings`
adapts the engine's Finding rows to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from registry.assets.models import Asset
from registry.enums import RuleOutcome


@dataclass
class NoticeItem:
    """One asset to put on a notice, with the rule, citation, figures and deadline behind it."""

    asset: Asset
    rule_code: str
    rule_version: int
    citation: str
    outcome: RuleOutcome
    explanation: str
    figures: dict | None = None
    deadline: date | None = None
    deadline_days: int | None = None  # for "N days after the notice" policies
    finding_id: int | None = None
    mandatory: bool = True  # False when the finding could not be determined

    def deadline_for(self, issued_on: date, default_days: int) -> date:
        """Return the deadline for a notice issued on `issued_on`."""
        if self.deadline is not None:
            return self.deadline
        return issued_on + timedelta(days=self.deadline_days or default_days)


def item_from_finding(finding, asset: Asset) -> NoticeItem:
    """Adapt one rules-engine Finding (with its Rule) and its asset to a NoticeItem."""
    rule = finding.rule
    policy = (rule.deadline_policy or {}) if rule is not None else {}
    days = int(policy["days"]) if policy.get("type") == "days_after_notice" else None
    return NoticeItem(
        asset=asset, rule_code=finding.rule_code, rule_version=finding.rule_version,
        citation=rule.citation if rule is not None else "", outcome=finding.outcome,
        explanation=finding.explanation, figures=finding.figures, deadline=finding.deadline,
        deadline_days=days, finding_id=finding.id,
        mandatory=finding.result == "hit" and finding.outcome.is_mandatory,
    )
