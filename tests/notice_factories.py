"""Build NoticeItems (what the rules engine's mandatory findings become) for notice tests."""
from __future__ import annotations

from datetime import date

from registry.enums import Category, RuleOutcome
from registry.notices.items import NoticeItem
from tests.factories import make_asset, make_unit


def item_for(asset, outcome: RuleOutcome = RuleOutcome.MANDATORY_RENEWAL, deadline: date | None = date(2026, 12, 31),
             explanation: str = "于2013年3月1日投入使用，截至2025年7月16日已使用12年，超过10年",
             mandatory: bool = True, rule_code: str = "XZ-8a") -> NoticeItem:
    """Return a NoticeItem for `asset` as a mandatory finding would give it."""
    return NoticeItem(asset=asset, rule_code=rule_code, rule_version=1, citation="新政〔2024〕3号 二（三）8",
                      outcome=outcome, explanation=explanation, figures={"years": 12}, deadline=deadline,
                      mandatory=mandatory)


def flagged_assets(n: int = 1, *, unit=None, township: str = "新建路街道", category=Category.CONSTRUCTION_MACHINE,
                   **fields):
    """Create `n` assets of one owner unit and return their NoticeItems."""
    unit = unit or make_unit(township=township)
    return [item_for(make_asset(category, owner=unit, **fields)) for _ in range(n)]
