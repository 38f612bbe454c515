"""Readable before/after text for the change history, and the history itself."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from registry import clock
from registry.accounts.models import User
from registry.assets.fields import FieldSpec, fields_for
from registry.assets.models import Asset, AssetChange
from registry.extensions import db

# Fields that are not in the field table but still appear in the history.
EXTRA_LABELS = {"deleted_at": "删除时间", "deletion_reason": "删除原因", "category": "类别", "department": "主管部门",
                "record": "整条记录", "extra": "其他属性"}


def display_value(value) -> str | None:
    """Return `value` as the text a user reads: labels for enums, 是/否, ISO dates, plain numbers."""
    if value is None or value == "":
        return None
    if hasattr(value, "label"):
        return value.label
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return clock.to_local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "name") and hasattr(value, "township"):  # a Unit
        return value.name
    return str(value)


def spec_value(asset: Asset, spec: FieldSpec):
    """Return the current value of `spec` on `asset` (units as Unit rows)."""
    if spec.table == "asset":
        return getattr(asset, spec.name)
    row = asset.detail
    return getattr(row, spec.name) if row is not None else None


def snapshot(asset: Asset) -> dict[str, str | None]:
    """Return every attribute of `asset` as readable text, keyed by field name."""
    return {s.name: display_value(spec_value(asset, s)) for s in fields_for(asset.category)}


def label_for(asset: Asset, field: str) -> str:
    """Return the Chinese label of `field` for this asset's category."""
    for spec in fields_for(asset.category):
        if spec.name == field:
            return spec.label
    if field.startswith("extra:"):
        return f"附加属性「{field[6:]}」"
    return EXTRA_LABELS.get(field, field)


def history_value(asset: Asset, field: str, text: str | None) -> str:
    """Return a stored before/after text as the page shows it: an enum value written by code becomes its label."""
    if text is None or text == "":
        return "—"
    for spec in fields_for(asset.category):
        if spec.name == field and spec.enum is not None:
            try:
                return spec.enum(text).label
            except ValueError:
                return text  # already a label (the usual case: histories store readable text)
    return text


def add_changes(asset: Asset, before: dict, after: dict, action: str, user) -> list[AssetChange]:
    """Add one AssetChange per field whose readable value differs; return them."""
    rows = []
    for field, new in after.items():
        old = before.get(field)
        if old == new:
            continue
        row = AssetChange(asset_id=asset.id, user_id=getattr(user, "id", None), action=action, field=field,
                          before=old, after=new)
        db.session.add(row)
        rows.append(row)
    return rows


def readable_sql(column, enum_cls):
    """Return a SQL expression giving an enum column's readable text (its label), as `display_value` does."""
    text = sa.type_coerce(column, sa.String)
    return sa.case({m.value: m.label for m in enum_cls}, value=text, else_=text)


def history(asset_id: int, limit: int = 500) -> list[tuple[AssetChange, str | None]]:
    """Return the asset's changes, newest first, with the name of who made each."""
    rows = db.session.execute(
        sa.select(AssetChange, User.display_name).outerjoin(User, User.id == AssetChange.user_id)
        .where(AssetChange.asset_id == asset_id).order_by(AssetChange.id.desc()).limit(limit)
    ).all()
    return [(change, name) for change, name in rows]
