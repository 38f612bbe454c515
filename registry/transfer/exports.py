"""Export a filtered, scoped asset list as an .xlsx 台账 (web, API and CLI share this).

Beside the asset sheet: the 处置记录 and 更新替换记录 sheets of the exported assets, which import back unchanged.

The filters are the list page's (registry.assets.filters): the same query string selects the same
assets, in the same order (its `sort`). Soft-deleted assets are never exported: `deleted` is ignored.
"""
from __future__ import annotations

import dataclasses
import tempfile
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from registry import clock
from registry.assets.fields import fields_for
from registry.assets.filters import AssetFilters, filter_conditions, sort_order
from registry.assets.models import DETAIL_MODELS, Asset
from registry.assets.scoping import asset_scope
from registry.audit import services as audit
from registry.enums import Category
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.orgs.models import Unit
from registry.transfer import records
from registry.transfer.excel import MAX_EXCEL_ROWS, write_export

BATCH = 5000


def export_query(category: Category, filters: AssetFilters, user=None):
    """Return the SELECT of every field of `category`, in template column order, filtered and scoped."""
    detail = DETAIL_MODELS[category].__table__
    owner, holder = aliased(Unit), aliased(Unit)
    cols = []
    for spec in fields_for(category):
        if spec.name == "owner_unit":
            cols.append(owner.name)
        elif spec.name == "user_unit":
            cols.append(holder.name)
        elif spec.table == "asset":
            cols.append(Asset.__table__.c[spec.name])
        else:
            cols.append(detail.c[spec.name])
    cols.append(Asset.__table__.c.extra)  # last: spread into one column per extra attribute by export_assets
    conds = filter_conditions(dataclasses.replace(filters, include_deleted=False)) + [Asset.category == category]
    if user is not None:
        conds.append(asset_scope(user))
    return (sa.select(*cols).select_from(Asset)
            .join(detail, detail.c.asset_id == Asset.id)
            .join(owner, owner.id == Asset.owner_unit_id)
            .outerjoin(holder, holder.id == Asset.user_unit_id)
            .where(*conds).order_by(*sort_order(filters.sort)))


def export_assets(filters: AssetFilters, out: IO[bytes] | str, user=None, *, via: str = "web") -> int:
    """Write the 台账 of `filters` (its category is required) visible to `user` to `out`; audit it; return rows."""
    if filters.category is None:
        raise ValidationFailed("导出需要选择设备类别", {"category": ["类别：请选择要导出的设备类别"]})
    category = filters.category
    filters = dataclasses.replace(filters, include_deleted=False)  # also kept out of the sheet and the audit record
    query = export_query(category, filters, user)
    keys: dict[str, None] = {}
    sub = query.subquery()
    for (extra,) in db.session.execute(sa.select(sub.c.extra).where(sub.c.extra.is_not(None))):
        keys.update(dict.fromkeys(extra or {}))
    extra_keys = list(keys)
    # The assets' disposal and replacement records go on their own sheets (registry.transfer.records).
    record_rows = records.export_rows(query.with_only_columns(Asset.id).order_by(None))
    rows = db.session.execute(query.execution_options(yield_per=BATCH))
    info = {"台账": f"新郑市{category.label}设备更新台账", "导出时间": clock.local_stamp("%Y-%m-%d %H:%M"),
            "导出人": getattr(user, "display_name", None) or "命令行", **filters.describe()}
    try:
        count = write_export(category, (list(r[:-1]) + [(r[-1] or {}).get(k) for k in extra_keys] for r in rows),
                             out, info, extra_keys, record_rows)
    except OverflowError:
        raise ValidationFailed(f"记录超过 Excel 上限 {MAX_EXCEL_ROWS:,} 行，请增加筛选条件后分批导出") from None
    finally:
        rows.close()
    audit.record("asset.export", object_type="asset", user=user,
                 details={"category": category.value, "filters": filters.as_args(), "rows": count, "via": via,
                          "records": {name: len(rows) for name, rows in record_rows.items()}})
    db.session.commit()
    return count


def export_to_tempfile(filters: AssetFilters, user=None, *, via: str = "web") -> tuple[IO[bytes], int]:
    """Export into an anonymous temporary file (deleted when closed); return it rewound and the row count."""
    fh = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        count = export_assets(filters, fh, user, via=via)
    except BaseException:
        fh.close()
        raise
    fh.seek(0)
    return fh, count


def export_filename(category: Category) -> str:
    """Return the download name of an export in local time, e.g. 电梯台账-20261130-0356.xlsx."""
    return f"{category.label}台账-{clock.local_stamp('%Y%m%d-%H%M')}.xlsx"
