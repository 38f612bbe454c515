"""Which rows a user may see: the one place department scoping is decided.

`department_scope(user, column)` scopes a query on any table with a department column (assets,
notices, snapshot items, plans, departments themselves); `can_read_department` is the same rule
for one row. Domain modules build their named scopes on it (`registry.assets.scoping.asset_scope`).
"""
from __future__ import annotations

import sqlalchemy as sa

from registry.audit import services as audit
from registry.enums import Category, Role
from registry.errors import NotFound, PermissionDenied

# Roles that read every department's assets.
CITYWIDE_ROLES = {Role.TASKFORCE}
# Roles that see no business data at all (separation of duties).
NO_DATA_ROLES = {Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR}


def _sees_no_data(user) -> bool:
    return user is None or not getattr(user, "is_authenticated", False) or user.role in NO_DATA_ROLES


def department_scope(user, column):
    """Return a SQL condition limiting rows whose department `column` is one `user` may read."""
    if _sees_no_data(user):
        return sa.false()
    if user.role in CITYWIDE_ROLES:
        return sa.true()
    if user.department_id is None:
        return sa.false()
    return column == user.department_id


def can_read_department(user, department_id: int | None) -> bool:
    """Tell whether `user` may read a row of `department_id` (same rule as `department_scope`, for one row)."""
    if _sees_no_data(user):
        return False
    return user.role in CITYWIDE_ROLES or (user.department_id is not None and department_id == user.department_id)


def can_read_asset(user, asset) -> bool:
    """Tell whether `user` may read `asset` (same rule as `asset_scope`, for one row)."""
    return can_read_department(user, asset.department_id)


def can_edit_asset(user, asset) -> bool:
    """Tell whether `user` may change `asset`: a maintainer of the department responsible for its category."""
    return (getattr(user, "is_authenticated", False) and user.role is Role.MAINTAINER
            and user.department is not None and asset.department_id == user.department_id
            and asset.category.value in user.department.category_values)


def kept_categories(user) -> list[Category]:
    """Return the categories `user`'s department keeps (enum order); every category for a user without one."""
    department = getattr(user, "department", None)
    if department is None:
        return list(Category)
    return [c for c in Category if c.value in department.category_values]


def editable_categories(user) -> set[str]:
    """Return the category values `user` may create or edit assets in."""
    if not getattr(user, "is_authenticated", False) or user.role is not Role.MAINTAINER or user.department is None:
        return set()
    return user.department.category_values


def require_readable(user, asset, action: str = "read"):
    """Return `asset` if `user` may read it; otherwise audit the attempt and answer 404 (existence is not leaked)."""
    if asset is not None and can_read_asset(user, asset):
        return asset
    _deny(user, asset, action)


def require_editable(user, asset, action: str = "edit"):
    """Return `asset` if `user` may change it; otherwise audit the attempt and refuse."""
    if asset is not None and can_edit_asset(user, asset):
        return asset
    _deny(user, asset, action)


def _deny(user, asset, action: str):
    audit.record_refusal("access.denied", object_type="asset", user=user, object_id=getattr(asset, "id", None),
                         details={"action": action, "reason": "no such asset" if asset is None else "outside user's scope"})
    if asset is not None and can_read_asset(user, asset):
        raise PermissionDenied("您可以查看但无权修改此设备（仅主管部门维护员可修改其负责类别的设备）")
    raise NotFound("设备不存在或不在您的管辖范围内")
