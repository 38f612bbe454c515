"""Parse notice form and query input into typed values, with Chinese messages naming the field."""
from __future__ import annotations

from datetime import date

from registry.enums import NoticeStatus, RuleOutcome
from registry.errors import ValidationFailed


def parse_date(raw: str | None, field: str, label: str, required: bool = True) -> date | None:
    """Parse an ISO date (YYYY-MM-DD)."""
    text = (raw or "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"请填写{label}", {field: [f"{label}不能为空"]})
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{label}格式有误", {field: [f"“{text}”不是有效日期，应为 2025-07-16 这样的格式"]}) from None


def parse_status(raw: str | None) -> NoticeStatus | None:
    """Parse a status filter (value or Chinese label); empty means any."""
    if not raw:
        return None
    try:
        return NoticeStatus.from_label(raw)
    except KeyError:
        raise ValidationFailed("状态无效", {"status": [f"未知状态 {raw}"]}) from None


def parse_outcome(raw: str | None) -> RuleOutcome:
    """Parse a template's outcome (value or label)."""
    try:
        return RuleOutcome.from_label(raw or "")
    except KeyError:
        raise ValidationFailed("处理要求无效", {"outcome": [f"未知处理要求 {raw}"]}) from None
