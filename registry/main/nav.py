"""The main navigation: (endpoint, label, roles) entries, shown to the roles that may open them."""
from __future__ import annotations

from flask import url_for

from registry.accounts.access import BUSINESS_READERS
from registry.enums import Role

NAV: list[tuple[str, str, frozenset]] = [
    ("rules.index", "更新规则", BUSINESS_READERS),
    ("snapshots.index", "强制更新清单", BUSINESS_READERS),
    ("jobs.index", "定时任务", frozenset({Role.SYSADMIN, Role.TASKFORCE})),
]


def nav_items(user) -> list[dict]:
    """Return the navigation links `user` may follow."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [{"url": url_for(endpoint), "label": label} for endpoint, label, roles in NAV if user.role in roles]
