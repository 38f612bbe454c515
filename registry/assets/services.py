"""Create, change and soft-delete assets. Services own the transaction and the history.

Every change writes one AssetChange row per field (readable before/after) and one audit
record with the same before/after. Scoping: an asset the user may not read answers 404
(its existence is not revealed); one the user may read but not change answers 403. Both
are audited and change nothing.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer
from sqlalchemy.orm.exc import StaleDataError

from registry import clock
from registry.accounts.scoping import can_edit_asset, can_read_asset, editable_categories
from registry.assets.fields import fields_for, latest_date
from registry.assets.history import add_changes, readable_sql, snapshot
from registry.assets.models import (
    DETAIL_MODELS, Asset, AssetChange, ElevatorDetail, OfficialCarDetail, load_options,
)
from registry.audit import services as audit
from registry.enums import Category, LifecycleStatus
from registry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.orgs.reference import TOWNSHIPS, department_for_category
from registry.orgs.models import Unit
from registry.orgs.services import find_or_create_unit

ACTION_LABELS = {"create": "新建", "update": "修改", "bulk": "批量修改", "delete": "删除", "import": "导入",
                 "assess": "状况评定", "notice": "更新通知书", "plan": "更新计划", "restore": "恢复",
                 "dispose": "处置记录", "replace": "更新记录"}
# Who may move an asset's status by workflow (change_status): notices and plans.
STATUS_SOURCES = ("notice", "plan", "dispose", "replace")
BULK_FIELDS = ("status", "condition_grade", "user_unit")
BULK_LIMIT = 500
# The disposals domain (above this one) registers `app.extensions[SCRAP_GUARD_EXTENSION] = callable(asset_id) -> bool`:
# whether the asset has a disposal record. Without it nothing may become 已报废 (fail closed).
SCRAP_GUARD_EXTENSION = "registry.scrap_guard"
SCRAP_REFUSED = "使用状态：设为「已报废」前须先登记处置记录（处置方式、日期、接收企业、凭证）"


def status_refusal(asset: Asset, status: LifecycleStatus) -> str | None:
    """Return why `asset` may not take `status` now (None when it may): 已报废 needs a disposal record."""
    if status is not LifecycleStatus.SCRAPPED:
        return None
    guard = current_app.extensions.get(SCRAP_GUARD_EXTENSION)
    if asset.id is None or guard is None or not guard(asset.id):
        return SCRAP_REFUSED
    return None


def deny(asset_id, reason: str, status: int = 404):
    """Audit a refused access to an asset and raise 404 (not readable) or 403 (not editable)."""
    audit.record_refusal("asset.access_denied", object_type="asset", object_id=asset_id, details={"reason": reason})
    if status == 403:
        raise PermissionDenied("您无权修改该设备")
    raise NotFound("设备不存在或您无权查看")


def get_readable(asset_id: int, user) -> Asset:
    """Return the asset if `user` may read it; otherwise 404 (audited when it exists)."""
    # `extra` (deferred on lists) comes in the same statement: the asset page shows it, a second round trip otherwise.
    asset = db.session.get(Asset, asset_id, options=[*load_options(), undefer(Asset.extra)])
    if asset is None:
        raise NotFound("设备不存在或您无权查看")
    if not can_read_asset(user, asset):
        deny(asset_id, "not readable")
    return asset


def get_editable(asset_id: int, user) -> Asset:
    """Return the asset if `user` may change it; 404 when unreadable, 403 when read-only (both audited)."""
    asset = get_readable(asset_id, user)
    if not can_edit_asset(user, asset):
        deny(asset_id, "not editable", 403)
    if asset.deleted_at is not None:
        raise Conflict("该设备已删除，不能再修改")
    return asset


def _flatten(values: dict) -> dict:
    flat = {k: v for k, v in values.items() if k not in ("detail", "category", "version")}
    flat.update(values.get("detail") or {})
    return flat


def _set_values(asset: Asset, values: dict) -> None:
    """Assign parsed values; units are given by name and found or created in the asset's township."""
    specs = {s.name: s for s in fields_for(asset.category)}
    if "township" in values:
        asset.township = values["township"]
    if asset.township not in TOWNSHIPS:
        raise ValidationFailed("乡镇/街道有误", {"township": [f"乡镇/街道：「{asset.township or ''}」不是新郑市下辖乡镇或街道"]})
    detail = asset.detail
    if detail is None:
        detail = DETAIL_MODELS[asset.category]()
        setattr(asset, asset.category.value, detail)
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None or name == "township":
            continue
        if spec.kind == "unit":
            current = getattr(asset, name)
            if isinstance(value, str) and current is not None and current.name == value.strip():
                continue  # same name: keep the registered unit even if it sits in another township
            unit = value if isinstance(value, Unit) or not value else find_or_create_unit(value, asset.township)[0]
            setattr(asset, name, unit)
        elif spec.table == "asset":
            setattr(asset, name, value)
        else:
            setattr(detail, name, value)


def _check(asset: Asset, status_before: LifecycleStatus | None = None) -> None:
    """Check what one field cannot: date order, uniqueness, 已报废 only with a disposal. Raise listing every problem."""
    errors: dict[str, list[str]] = {}
    if asset.status is not status_before and asset.status is not None:
        refusal = status_refusal(asset, asset.status)
        if refusal:
            errors["status"] = [refusal]
    if asset.owner_unit is None:
        errors["owner_unit"] = ["产权单位：不能为空"]
    today = clock.today()  # the local day: the database no longer compares with its own (UTC) CURRENT_DATE
    for spec in fields_for(asset.category):
        value = getattr(asset if spec.table == "asset" else asset.detail, spec.name, None) if spec.kind == "date" else None
        if value is not None and value > latest_date(spec, today):
            errors[spec.name] = [f"{spec.label}：「{value.isoformat()}」晚于今天，不能填写未来日期" if not spec.future_years
                                 else f"{spec.label}：「{value.isoformat()}」晚于 {latest_date(spec, today).isoformat()}"]
    if asset.manufactured_on and asset.commissioned_on and asset.manufactured_on > asset.commissioned_on:
        errors["commissioned_on"] = ["投入使用日期：不能早于出厂日期"]
    if asset.manufactured_on and asset.registered_on and asset.manufactured_on > asset.registered_on:
        errors["registered_on"] = ["登记日期：不能早于出厂日期"]
    others = Asset.id != asset.id if asset.id else sa.true()
    with db.session.no_autoflush:
        if db.session.scalar(sa.select(Asset.id).where(Asset.code == asset.code, others)):
            errors["code"] = [f"设备编码：「{asset.code}」已被其他设备使用"]
        detail = asset.detail
        if isinstance(detail, ElevatorDetail) and detail.registration_code and db.session.scalar(
                sa.select(ElevatorDetail.asset_id).where(ElevatorDetail.registration_code == detail.registration_code,
                                                         ElevatorDetail.asset_id != (asset.id or 0))):
            errors["registration_code"] = [f"注册代码：「{detail.registration_code}」已被其他电梯使用"]
        if isinstance(detail, OfficialCarDetail) and detail.plate_number and db.session.scalar(
                sa.select(OfficialCarDetail.asset_id).where(OfficialCarDetail.plate_number == detail.plate_number,
                                                            OfficialCarDetail.asset_id != (asset.id or 0))):
            errors["plate_number"] = [f"号牌号码：「{detail.plate_number}」已被其他车辆使用"]
    if errors:
        raise ValidationFailed("数据校验未通过，请按提示修改", errors)


def _write(step) -> None:
    """Run `step` (the session's flush or commit); a stale version rolls back and is a Conflict (409)."""
    try:
        step()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("该设备已被他人修改，请刷新后重试") from None


def _flush() -> None:
    try:
        _write(db.session.flush)
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationFailed("数据与已有记录冲突或违反约束，未保存", {"_schema": [str(exc.orig).splitlines()[0]]}) from None


def build_asset(category: Category, values: dict, user, action: str = "create") -> Asset:
    """Add a new asset with its history and audit record to the session, without committing (importers batch)."""
    if category.value not in editable_categories(user):
        raise PermissionDenied(f"您无权登记{category.label}")
    asset = Asset(category=category, department=department_for_category(category))
    flat = _flatten(values)
    _set_values(asset, flat)
    _check(asset)
    db.session.add(asset)
    _flush()
    after = snapshot(asset)
    add_changes(asset, {}, after, action, user)
    audit.record(f"asset.{action}", object_type="asset", object_id=asset.id,
                 details={"code": asset.code, "after": {k: v for k, v in after.items() if v is not None}})
    return asset


def apply_changes(asset: Asset, changes: dict, user, action: str = "update") -> dict:
    """Apply `changes` to an editable asset in the session, recording history; return {field: (before, after)}."""
    before, status_before = snapshot(asset), asset.status
    _set_values(asset, _flatten(changes))
    _check(asset, status_before)
    after = snapshot(asset)
    diff = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    if not diff:
        return {}
    _flush()
    add_changes(asset, before, after, action, user)
    audit.record(f"asset.{action}", object_type="asset", object_id=asset.id,
                 details={"code": asset.code, "before": {k: b for k, (b, _a) in diff.items()},
                          "after": {k: a for k, (_b, a) in diff.items()}})
    return diff


def create_asset(category: Category, values: dict, user) -> Asset:
    """Create an asset (values parsed by the schemas) and commit."""
    if category.value not in editable_categories(user):
        audit.record_refusal("asset.create", object_type="asset", details={"category": category.value})
        raise PermissionDenied(f"您无权登记{category.label}")
    asset = build_asset(category, values, user)
    _commit()
    return asset


def update_asset(asset_id: int, changes: dict, user, expected_version: int) -> tuple[Asset, dict]:
    """Change an asset if `expected_version` is current (else 409, nothing changed); commit."""
    asset = get_editable(asset_id, user)
    if expected_version != asset.version:
        raise Conflict(f"该设备已被他人修改（当前版本 {asset.version}，您提交的版本 {expected_version}），请刷新后重试")
    diff = apply_changes(asset, changes, user)
    _commit()
    return asset, diff


def bulk_update(ids: list[int], changes: dict, user) -> int:
    """Set status, condition grade or user unit on several assets, each recorded in its own history; commit."""
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown or not changes:
        raise ValidationFailed("批量修改只能修改使用状态、状况等级或使用单位", {"_schema": ["请选择要修改的字段"]})
    ids = sorted(set(ids))
    if not ids:
        raise ValidationFailed("请先勾选要批量修改的设备", {"ids": ["未选择设备"]})
    if len(ids) > BULK_LIMIT:
        raise ValidationFailed(f"一次最多批量修改 {BULK_LIMIT} 台设备", {"ids": [f"已选 {len(ids)} 台"]})
    assets = [get_editable(i, user) for i in ids]  # every one checked before anything changes
    if changes.get("user_unit"):
        changes = {**changes, "user_unit": _registered_unit(changes["user_unit"])}
    changed = 0
    for asset in assets:
        if apply_changes(asset, changes, user, action="bulk"):
            changed += 1
    _commit()
    return changed


def _registered_unit(name: str) -> Unit:
    """Return the one registered unit called `name` (bulk edits span townships, so none is created)."""
    units = list(db.session.scalars(sa.select(Unit).where(Unit.name == name.strip()).limit(2)))
    if not units:
        raise ValidationFailed("使用单位未登记", {"user_unit": [f"使用单位：「{name}」尚未登记，请先在单个设备中填写或新建单位"]})
    if len(units) > 1:
        raise ValidationFailed("使用单位重名", {"user_unit": [f"使用单位：「{name}」在多个乡镇重名，请逐台修改"]})
    return units[0]


def soft_delete(asset: Asset | int, reason: str, user) -> Asset:
    """Mark an asset deleted with a reason (never a hard delete); commit."""
    asset = get_editable(asset if isinstance(asset, int) else asset.id, user)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed("请填写删除原因", {"reason": ["删除原因：不能少于 2 个字"]})
    if len(reason) > 200:
        raise ValidationFailed("删除原因过长", {"reason": ["删除原因：不能超过 200 个字"]})
    asset.deleted_at = clock.now()
    asset.deletion_reason = reason
    _flush()
    add_changes(asset, {}, {"deleted_at": clock.to_local(asset.deleted_at).strftime("%Y-%m-%d %H:%M"), "deletion_reason": reason},
                "delete", user)
    audit.record("asset.delete", object_type="asset", object_id=asset.id,
                 details={"code": asset.code, "before": {"deleted_at": None},
                          "after": {"deleted_at": asset.deleted_at.isoformat(), "deletion_reason": reason}})
    _commit()
    return asset


def change_status(asset_ids, new: LifecycleStatus, user, *, source: str, reason: str,
                  only_from: tuple[LifecycleStatus, ...] | None = None) -> int:
    """Move the live assets among `asset_ids` (a list or a SELECT of ids) to status `new`; return how many moved.

    The one way a workflow changes asset status (a notice issued, completed or voided; a plan
    locked or revised). Each moved asset gets its status, a version bump (an edit form opened
    before now fails its version check, as after any edit), its `updated_at`, and one AssetChange
    row shaped like every other history row: who, when, action `source`, field "status", readable
    before and after. One audit record covers the call. Assets already in `new`, soft-deleted, or
    (with `only_from`) in another status are left alone. Set-based (a plan moves thousands of
    assets at once) and not committed: the caller owns the transaction.
    """
    if source not in STATUS_SOURCES:
        raise ValueError(f"unknown status change source {source!r}")
    chosen = [Asset.id.in_(asset_ids), Asset.status != new, Asset.deleted_at.is_(None)]
    if only_from is not None:
        chosen.append(Asset.status.in_(only_from))
    if new is LifecycleStatus.SCRAPPED:  # 已报废 needs a disposal record, whichever workflow asks
        refused = [a for a in db.session.scalars(sa.select(Asset).where(*chosen)) if status_refusal(a, new)]
        if refused:
            raise ValidationFailed("设备不能设为已报废", {"status": [f"{'、'.join(a.code for a in refused)} {SCRAP_REFUSED}"]})
    before = sorted(db.session.scalars(sa.select(Asset.status).where(*chosen).distinct()), key=lambda s: s.value)
    if not before:
        return 0
    now = clock.now()
    history = sa.select(Asset.id, sa.literal(now, sa.DateTime(timezone=True)),
                        sa.literal(getattr(user, "id", None), sa.Integer), sa.literal(source), sa.literal("status"),
                        readable_sql(Asset.status, LifecycleStatus), sa.literal(new.label)).where(*chosen)
    db.session.execute(sa.insert(AssetChange).from_select(
        ["asset_id", "changed_at", "user_id", "action", "field", "before", "after"], history))
    # "fetch": asset rows already loaded in this session (a notice's items) see the new status and version.
    moved = db.session.execute(sa.update(Asset).where(*chosen).values(status=new, version=Asset.version + 1,
                                                                       updated_at=now)
                               .returning(Asset.id), execution_options={"synchronize_session": "fetch"}).scalars().all()
    audit.record("asset.update", object_type="asset", object_id=moved[0] if len(moved) == 1 else None, user=user,
                 details={"field": "status", "source": source, "reason": reason, "count": len(moved),
                          "before": {"status": [s.label for s in before]}, "after": {"status": new.label}})
    return len(moved)


def _commit() -> None:
    _write(db.session.commit)
