"""Which assets a user may see: the one place department scoping is decided."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import Role

# Roles that read every department's assets.
CITYWIDE_ROLES = {Role.TASKFORCE}
# Roles that see no business data at all (separation of duties).
NO_DATA_ROLES = {Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR}


def asset_scope(user):
    """Return a SQL condition limiting assets to those `user` may read."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role in NO_DATA_ROLES:
        return sa.false()
    if user.role in CITYWIDE_ROLES:
        return sa.true()
    if user.department_id is None:
        return sa.false()
    return Asset.department_id == user.department_id


def can_read_asset(user, asset) -> bool:
    """Tell whether `user` may read `asset` (same rule as `asset_scope`, for one row)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role in NO_DATA_ROLES:
        return False
    return user.role in CITYWIDE_ROLES or (user.department_id is not None and asset.department_id == user.department_id)


def can_edit_asset(user, asset) -> bool:
    """Tell whether `user` may change `asset`: a maintainer of the department responsible for its category."""
    return (getattr(user, "is_authenticated", False) and user.role is Role.MAINTAINER
            and user.department is not None and asset.department_id == user.department_id
            and asset.category.value in user.department.category_values)


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
    from registry.audit import services as audit
    from registry.errors import NotFound, PermissionDenied
    from registry.extensions import db
    db.session.rollback()
    audit.record("access.denied", outcome="denied", object_type="asset", user=user,
                 object_id=getattr(asset, "id", None),
                 details={"action": action, "reason": "no such asset" if asset is None else "outside user's scope"})
    db.session.commit()
    if asset is not None and can_read_asset(user, asset):
        raise PermissionDenied("您可以查看但无权修改此设备（仅主管部门维护员可修改其负责类别的设备）")
    raise NotFound("设备不存在或不在您的管辖范围内")
