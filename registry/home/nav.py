"""The main navigation, shown to the roles each page's view declares (no second list of roles)."""
from __future__ import annotations

from flask import current_app, url_for

from registry.accounts.access import allowed_roles_for

# Business pages in the order people use them; account and admin links come from accounts.nav.
NAV: list[tuple[str, str]] = [
    ("assets.index", "设备台账"),
    ("rules.index", "更新规则"),
    ("snapshots.index", "强制更新清单"),
    ("notices.index", "更新通知书"),
    ("planning.index", "更新计划"),
    ("progress.progress_page", "进度看板"),
    ("transfer.index", "Excel 导入导出"),
    ("jobs.index", "定时任务"),
    ("apidocs_page.docs", "API 文档"),
]


def nav_items(user) -> list[dict]:
    """Return the navigation links `user` may follow."""
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    items = []
    for endpoint, label in NAV:
        roles = allowed_roles_for(views.get(endpoint), "GET") if endpoint in views else None
        if roles and user.role in roles:
            items.append({"url": url_for(endpoint), "label": label})
    return items
