"""Turn the rule edit form into the `changes` dict the services take."""
from __future__ import annotations

import json

from registry.errors import ValidationFailed


def changes_from_form(form) -> dict:
    """Parse the edit form; bad JSON becomes a Chinese validation error naming the field."""
    try:
        params = json.loads(form.get("params") or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationFailed("规则参数有误，未保存",
                               {"params": [f"参数不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）"]}) from None
    kind = form.get("deadline_type") or ""
    if kind == "fixed":
        deadline = {"type": "fixed", "date": form.get("deadline_date") or None}
    elif kind == "days_after_notice":
        days = (form.get("deadline_days") or "").strip()
        deadline = {"type": "days_after_notice", "days": int(days) if days.lstrip("-").isascii() and days.lstrip("-").isdigit() else days}
    else:
        deadline = None
    return {
        "title": (form.get("title") or "").strip(),
        "citation": (form.get("citation") or "").strip(),
        "params": params,
        "outcome": form.get("outcome"),
        "deadline_policy": deadline,
        "effective_from": form.get("effective_from") or None,
        "effective_to": form.get("effective_to") or None,
        "enabled": form.get("enabled") == "on",
        "verified": form.get("verified") == "on",
        "notes": (form.get("notes") or "").strip() or None,
    }
