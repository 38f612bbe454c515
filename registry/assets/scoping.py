"""The asset scope: department scoping (registry.accounts.scoping) applied to the assets table."""
from __future__ import annotations

from registry.accounts.scoping import department_scope
from registry.assets.models import Asset


def asset_scope(user):
    """Return a SQL condition limiting assets to those `user` may read."""
    return department_scope(user, Asset.department_id)
