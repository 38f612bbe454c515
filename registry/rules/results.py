"""The value a rule produces for one asset (the unsaved form of a Finding)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from registry.enums import RuleOutcome

HIT = "hit"
UNDETERMINABLE = "undeterminable"


@dataclass(frozen=True)
class FindingResult:
    """One rule's verdict on one asset: Finding's fields minus the ids."""

    asset_id: int
    rule_code: str
    rule_version: int
    outcome: RuleOutcome
    result: str  # HIT | UNDETERMINABLE
    explanation: str
    deadline: date | None
    overdue: bool
    as_of: date
    figures: dict = field(default_factory=dict)
    rule_id: int | None = None
