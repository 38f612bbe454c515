"""Turn the rule edit form into the `changes` dict the services take."""
from __future__ import annotations

import json

from registry.errors import ValidationFailed
from registry.inputs import show

MAX_NUMBER_DIGITS = 9  # the longest whole number a rule form field takes


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON; Python's parser accepts them by default



def _params(raw: str | None) -> dict:
    try:
        return json.loads(raw or "{}", parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("规则参数有误，未保存",
                               {"params": [f"参数不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）"]}) from None
    except (ValueError, RecursionError):  # NaN, a number of thousands of digits, nesting past the parser's depth
        raise ValidationFailed("规则参数有误，未保存",
                               {"params": ["参数不是有效的 JSON（数字过长或嵌套过深，或含 NaN、Infinity）"]}) from None


def changes_from_form(form) -> dict:
    """Parse the edit form; bad JSON or a bad number becomes a Chinese validation error naming the field."""
    params = _params(form.get("params"))
    kind = form.get("deadline_type") or ""
    if kind == "fixed":
        deadline = {"type": "fixed", "date": form.get("deadline_date") or None}
        late = _number(form.get("deadline_late_days"))
        if late != "":
            deadline["late_days"] = late
    elif kind == "days_after_notice":
        deadline = {"type": "days_after_notice", "days": _number(form.get("deadline_days"))}
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


def _number(raw: str | None) -> int | str:
    """Return a short typed whole number (ASCII digits, at most 9, optional minus) as int; else the text.

    The text is cut to 20 characters, so the validator's message stays short too.
    """
    text = (raw or "").strip()
    digits = text[1:] if text.startswith("-") else text
    # Only short ASCII digit strings reach int(): full-width digits, "²" or 5,000 digits are refused as text.
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_NUMBER_DIGITS:
        return int(text)
    return show(text)
