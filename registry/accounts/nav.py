"""Navigation links for the account, administration and audit pages, by role."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS
from registry.enums import Role


def account_nav() -> list[dict]:
    """Return the links the current user's role may follow (label + url)."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    items = []
    if current_user.role is Role.SYSADMIN:
        items.append({"label": "账户管理", "url": url_for("users.index")})
    if current_user.role is Role.SECADMIN:
        items.append({"label": "安全策略", "url": url_for("policy.edit_policy")})
    if current_user.role is Role.AUDITOR:
        items.append({"label": "审计日志", "url": url_for("audit.index")})
    if current_user.role in BUSINESS_READERS:
        items.append({"label": "API 令牌", "url": url_for("accounts.api_tokens")})
    items.append({"label": "修改密码", "url": url_for("accounts.change_password")})
    return items
