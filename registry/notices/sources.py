"""Where drafts come from: the mandatory findings of the latest evaluation, a list snapshot, or one asset.

Every function here makes drafts (拟稿) only; numbers are taken when a department head signs them.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa

from registry import clock
from registry.accounts.scoping import require_readable
from registry.assets.models import Asset
from registry.assets.scoping import asset_scope
from registry.bulk import chunked
from registry.enums import MANDATORY_OUTCOMES, Category, DiffStatus, NoticeStatus
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices.items import NoticeItem, item_from_finding
from registry.notices.models import Notice, NoticeItemRow
from registry.notices.services import ACTIVE_STATUSES, DRAFTING_ROLES, draft_notices, supersede_draft
from registry.orgs.models import Department
from registry.rules.models import Finding, Rule
from registry.rules.results import HIT
from registry.rules.services import findings_for_asset, latest_evaluation
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.transactions import atomic


def mandatory_items(department: Department, *, category: Category | None = None, township: str | None = None,
                    asset_ids: list[int] | None = None, as_of: date | None = None,
                    evaluation_id: int | None = None) -> list[NoticeItem]:
    """Return NoticeItems for the mandatory findings ("hit" with a mandatory outcome) of one evaluation per category.

    That evaluation is `evaluation_id` when given (a snapshot's own), else the latest covering each
    category as of `as_of` (rules.services.latest_evaluation).
    """
    items: list[NoticeItem] = []
    categories = [category] if category else sorted((Category(c) for c in department.category_values),
                                                    key=lambda c: c.value)
    for cat in categories:
        source_id = evaluation_id
        if source_id is None:
            evaluation = latest_evaluation(cat, as_of)
            if evaluation is None:
                continue
            source_id = evaluation.id
        stmt = (sa.select(Finding, Asset).join(Asset, Asset.id == Finding.asset_id)
                .where(Finding.evaluation_id == source_id, Finding.result == "hit",
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
    if db.session.get(Snapshot, snapshot_id) is None:
        raise ValidationFailed("清单快照不存在", {"snapshot_id": [f"没有编号为 {snapshot_id} 的清单快照"]})
    stmt = (sa.select(SnapshotItem.asset_id).distinct()
            .where(SnapshotItem.snapshot_id == snapshot_id, SnapshotItem.department_id == department.id,
                   SnapshotItem.result == "hit", SnapshotItem.outcome.in_(MANDATORY_OUTCOMES),
                   SnapshotItem.diff != DiffStatus.RESOLVED))
    if only_new:
        stmt = stmt.where(SnapshotItem.diff == DiffStatus.NEW)
    return list(db.session.scalars(stmt.order_by(SnapshotItem.asset_id)))


def draft_from_snapshot(user, snapshot_id: int, department: Department | None = None,
                        issued_on: date | None = None, only_new: bool = False,
                        also: list[int] | None = None) -> list[Notice]:
    """Draft notices for a snapshot's mandatory assets of one department (assets with an open notice are skipped).

    `also` adds assets to consider besides the snapshot's (those of drafts just superseded).
    """
    department = department or getattr(user, "department", None)
    if department is None:
        raise ValidationFailed("请指定发文部门", {"department": ["发文部门不能为空"]})
    ids = sorted(set(snapshot_asset_ids(snapshot_id, department, only_new)) | set(also or ()))
    held = _held_asset_ids(set(ids))
    ids = [i for i in ids if i not in held]
    if not ids:
        raise ValidationFailed("该清单快照中没有需要出具通知书的设备（未占用文号）")
    snapshot = db.session.get(Snapshot, snapshot_id)
    if snapshot.evaluation_id is None:
        raise ValidationFailed("该清单快照不是由规则评估生成的，不能据此出具通知书（未占用文号）",
                               {"snapshot_id": [f"清单快照 #{snapshot_id} 没有关联的规则评估"]})
    # The snapshot's own evaluation, never "the latest as of its date": a later run that day
    # (say, one category re-evaluated) must not make the notice cite other findings than the list.
    items = mandatory_items(department, asset_ids=ids, evaluation_id=snapshot.evaluation_id)
    if not items:
        raise ValidationFailed("该清单快照中的设备已无强制性规则结论（未占用文号）")
    return draft_notices(items, user, issued_on=issued_on, snapshot_id=snapshot_id)


UNSEEN_LISTED = 20  # ids quoted in the "not found or out of scope" message


def _missing_errors(user, department: Department, missing: list[int]) -> dict:
    """Name the department's own assets without a mandatory finding; every other id gets one message.

    Ids that do not exist and ids of other departments' assets are answered alike, without codes:
    the answer must not tell a maintainer which ids exist elsewhere, nor their codes.
    """
    own: dict[int, str] = {}
    for batch in chunked(sorted(set(missing))):
        own.update(db.session.execute(sa.select(Asset.id, Asset.code).where(
            Asset.id.in_(batch), Asset.department_id == department.id, Asset.deleted_at.is_(None),
            asset_scope(user))).all())
    errors: dict = {own[i]: ["没有强制更新、淘汰或报废的规则结论"] for i in missing if i in own}
    unseen = sorted({i for i in missing if i not in own})
    if unseen:
        listed = "、".join(f"#{i}" for i in unseen[:UNSEEN_LISTED]) + ("等" if len(unseen) > UNSEEN_LISTED else "")
        errors["asset_ids"] = [f"{len(unseen)} 个设备 id 不存在或不在您的管辖范围内：{listed}"]
    return errors


@atomic
def draft_from_findings(user, *, department: Department | None = None, asset_ids: list[int] | None = None,
                        township: str | None = None, category: str | Category | None = None,
                        snapshot_id: int | None = None, issued_on: date | None = None,
                        as_of: date | None = None) -> list[Notice]:
    """Draft notices for a department from its mandatory findings, selected by asset ids or by filter."""
    if snapshot_id is not None:
        return draft_from_snapshot(user, snapshot_id, department, issued_on)
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
            raise ValidationFailed("以下设备不能出具通知书（未占用文号）", _missing_errors(user, department, missing))
    else:
        held = _held_asset_ids({i.asset.id for i in items})
        items = [i for i in items if i.asset.id not in held]
    if not items:
        raise ValidationFailed("没有需要出具通知书的强制性规则结论（未占用文号）")
    return draft_notices(items, user, issued_on=issued_on)


def supersede_changed_drafts(department: Department, evaluation_id: int | None = None) -> dict[Notice, list[int]]:
    """Supersede the department's drafts whose findings changed (rule, version or outcome); flush, not commit.

    The findings compared are those of `evaluation_id` (the newest snapshot's), else the latest evaluation.

    Return each superseded draft with the ids of its assets that are still mandatory (to draft again).
    """
    drafts = list(db.session.scalars(sa.select(Notice).where(
        Notice.department_id == department.id, Notice.status == NoticeStatus.DRAFT).order_by(Notice.id)))
    if not drafts:
        return {}
    asset_ids = sorted({i.asset_id for d in drafts for i in d.items})
    current: dict[int, set] = {}
    for it in mandatory_items(department, asset_ids=asset_ids, evaluation_id=evaluation_id):
        current.setdefault(it.asset.id, set()).add((it.rule_code, it.rule_version, it.outcome.value))
    changed: dict[Notice, list[int]] = {}
    for draft in drafts:
        # A draft lists every mandatory finding of each asset: any finding added, gone or changed counts.
        if all({(f["rule_code"], f["rule_version"], f["outcome"]) for f in i.all_findings}
               == current.get(i.asset_id, set()) for i in draft.items):
            continue
        supersede_draft(draft, "最新评估的规则结论已变化")
        changed[draft] = [i.asset_id for i in draft.items if i.asset_id in current]
    db.session.flush()
    return changed


def link_successors(changed: dict[Notice, list[int]], drafts: list[Notice]) -> None:
    """Point each superseded draft at the new draft that took over its assets (the caller commits)."""
    by_asset = {i.asset_id: d.id for d in drafts for i in d.items}
    for old, asset_ids in changed.items():
        old.superseded_by_id = next((by_asset[a] for a in asset_ids if a in by_asset), None)


def item_from_result(result, asset: Asset) -> NoticeItem:
    """Adapt one finding of the per-asset Python path (an unsaved FindingResult) to a NoticeItem."""
    rule = db.session.get(Rule, result.rule_id) if result.rule_id is not None else None
    # The same adapter as for saved findings (one place reads a rule's deadline policy); unsaved: no id.
    return item_from_finding(SimpleNamespace(**asdict(result), rule=rule, id=None), asset)


@atomic
def draft_for_asset(user, asset_id: int) -> Notice:
    """Evaluate one asset now (the rules engine's per-asset Python path) and draft its notice; commit.

    Works the minute an asset is registered: no nightly evaluation is needed.
    """
    asset = require_readable(user, db.session.get(Asset, asset_id), "draft_notice")
    if user.role not in DRAFTING_ROLES:
        raise PermissionDenied("无权出具通知书：仅本部门维护员或检查员可以拟稿")
    held = db.session.execute(sa.select(Notice.id, Notice.number).join(NoticeItemRow).where(
        NoticeItemRow.asset_id == asset.id, Notice.status.in_(ACTIVE_STATUSES)).limit(1)).first()
    if held is not None:
        raise Conflict(f"设备 {asset.code} 已有" + (f"未办结的通知书 {held.number}" if held.number
                                                  else f"待签发的拟稿 拟稿#{held.id}") + "，不能重复出具",
                       {asset.code: ["已有未办结的通知书或拟稿"]})
    results = [r for r in findings_for_asset(asset, clock.today()) if r.result == HIT and r.outcome.is_mandatory]
    if not results:
        raise ValidationFailed(f"设备 {asset.code} 按现行规则没有强制更新、淘汰或报废的结论，不能出具通知书",
                               {asset.code: ["没有强制性规则结论"]})
    [draft] = draft_notices([item_from_result(r, asset) for r in results], user)
    return draft
