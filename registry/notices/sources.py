"""Where notice items come from: the mandatory findings of the latest evaluation, or a list snapshot."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.bulk import chunked
from registry.enums import MANDATORY_OUTCOMES, Category
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices.items import NoticeItem, item_from_finding
from registry.notices.models import Notice, NoticeItemRow
from registry.notices.services import ACTIVE_STATUSES, issue_notices
from registry.orgs.models import Department


def latest_evaluation_id(category: Category, as_of: date | None = None) -> int | None:
    """Return the newest finished evaluation covering `category` (as of `as_of` or earlier)."""
    from registry.rules.models import Evaluation
    stmt = sa.select(Evaluation.id).where(Evaluation.finished_at.is_not(None),
                                          sa.or_(Evaluation.category.is_(None), Evaluation.category == category))
    if as_of is not None:
        stmt = stmt.where(Evaluation.as_of <= as_of)
    return db.session.scalar(stmt.order_by(Evaluation.as_of.desc(), Evaluation.id.desc()).limit(1))


def mandatory_items(department: Department, *, category: Category | None = None, township: str | None = None,
                    asset_ids: list[int] | None = None, as_of: date | None = None) -> list[NoticeItem]:
    """Return NoticeItems for the mandatory findings ("hit" with a mandatory outcome) of the latest evaluations."""
    from registry.rules.models import Finding
    items: list[NoticeItem] = []
    categories = [category] if category else sorted((Category(c) for c in department.category_values),
                                                    key=lambda c: c.value)
    for cat in categories:
        evaluation_id = latest_evaluation_id(cat, as_of)
        if evaluation_id is None:
            continue
        stmt = (sa.select(Finding, Asset).join(Asset, Asset.id == Finding.asset_id)
                .where(Finding.evaluation_id == evaluation_id, Finding.result == "hit",
                       Finding.outcome.in_(MANDATORY_OUTCOMES), Asset.category == cat,
                       Asset.department_id == department.id, Asset.deleted_at.is_(None))
                .order_by(Finding.asset_id, Finding.id))
        if township:
            stmt = stmt.where(Asset.township == township)
        # A city-wide snapshot can name 100,000 assets: more than one statement may bind.
        batches = [None] if asset_ids is None else chunked(sorted(set(asset_ids)))
        for batch in batches:
            rows = db.session.execute(stmt if batch is None else stmt.where(Asset.id.in_(batch)))
            items.extend(item_from_finding(finding, asset) for finding, asset in rows)
    return items


def _held_asset_ids(asset_ids: set[int]) -> set[int]:
    if not asset_ids:
        return set()
    held: set[int] = set()
    for batch in chunked(sorted(asset_ids)):
        held.update(db.session.scalars(sa.select(NoticeItemRow.asset_id).join(Notice).where(
            NoticeItemRow.asset_id.in_(batch), Notice.status.in_(ACTIVE_STATUSES))))
    return held


def snapshot_asset_ids(snapshot_id: int, department: Department, only_new: bool = False) -> list[int]:
    """Return the assets a list snapshot holds as mandatory (and still open) for `department`."""
    from registry.enums import DiffStatus
    from registry.snapshots.models import Snapshot, SnapshotItem
    if db.session.get(Snapshot, snapshot_id) is None:
        raise ValidationFailed("清单快照不存在", {"snapshot_id": [f"没有编号为 {snapshot_id} 的清单快照"]})
    stmt = (sa.select(SnapshotItem.asset_id).distinct()
            .where(SnapshotItem.snapshot_id == snapshot_id, SnapshotItem.department_id == department.id,
                   SnapshotItem.result == "hit", SnapshotItem.outcome.in_(MANDATORY_OUTCOMES),
                   SnapshotItem.diff != DiffStatus.RESOLVED))
    if only_new:
        stmt = stmt.where(SnapshotItem.diff == DiffStatus.NEW)
    return list(db.session.scalars(stmt.order_by(SnapshotItem.asset_id)))


def issue_from_snapshot(user, snapshot_id: int, department: Department | None = None,
                        issued_on: date | None = None, only_new: bool = False) -> list[Notice]:
    """Issue notices for a snapshot's mandatory assets of one department (assets with an open notice are skipped)."""
    from registry.snapshots.models import Snapshot
    department = department or getattr(user, "department", None)
    if department is None:
        raise ValidationFailed("请指定发文部门", {"department": ["发文部门不能为空"]})
    ids = snapshot_asset_ids(snapshot_id, department, only_new)
    held = _held_asset_ids(set(ids))
    ids = [i for i in ids if i not in held]
    if not ids:
        raise ValidationFailed("该清单快照中没有需要出具通知书的设备（未占用文号）")
    snapshot = db.session.get(Snapshot, snapshot_id)
    items = mandatory_items(department, asset_ids=ids, as_of=snapshot.as_of)
    if not items:
        raise ValidationFailed("该清单快照中的设备已无强制性规则结论（未占用文号）")
    return issue_notices(items, user, issued_on=issued_on, snapshot_id=snapshot_id)


def issue_from_findings(user, *, department: Department | None = None, asset_ids: list[int] | None = None,
                        township: str | None = None, category: str | Category | None = None,
                        snapshot_id: int | None = None, issued_on: date | None = None,
                        as_of: date | None = None) -> list[Notice]:
    """Issue notices for a department from its mandatory findings, selected by asset ids or by filter."""
    if snapshot_id is not None:
        return issue_from_snapshot(user, snapshot_id, department, issued_on)
    department = department or getattr(user, "department", None)
    if department is None:
        raise ValidationFailed("请指定发文部门", {"department": ["发文部门不能为空"]})
    if category is not None and not isinstance(category, Category):
        try:
            category = Category.from_label(category)
        except KeyError:
            raise ValidationFailed("设备类别无效", {"category": [f"未知类别 {category}"]}) from None
    items = mandatory_items(department, category=category, township=township, asset_ids=asset_ids, as_of=as_of)
    if asset_ids is not None:
        found = {i.asset.id for i in items}
        missing = [i for i in asset_ids if i not in found]
        if missing:
            codes = dict(db.session.execute(sa.select(Asset.id, Asset.code).where(Asset.id.in_(missing))).all())
            raise ValidationFailed("以下设备在最近一次评估中没有强制性结论，不能出具通知书（未占用文号）",
                                   {codes.get(i, f"设备#{i}"): ["没有强制更新、淘汰或报废的规则结论"]
                                    for i in missing})
    else:
        held = _held_asset_ids({i.asset.id for i in items})
        items = [i for i in items if i.asset.id not in held]
    if not items:
        raise ValidationFailed("没有需要出具通知书的强制性规则结论（未占用文号）")
    return issue_notices(items, user, issued_on=issued_on)
