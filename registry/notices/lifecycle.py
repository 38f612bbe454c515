"""Notice lifecycle: served -> acknowledged -> completed, overdue, voided; each with who, when, evidence.

Every function validates first and changes nothing on bad input; a notice is never deleted.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from registry import clock
from registry.accounts.scoping import can_read_asset
from registry.assets.models import Asset
from registry.assets.services import change_status
from registry.enums import CompletionKind, LifecycleStatus, NoticeStatus, Role, RuleOutcome
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices.models import OPEN_STATUSES, Notice, NoticeItemRow
from registry.notices.services import SIGNED_ACTIVE_STATUSES, add_event, can_act_on, ensure_open
from registry.transactions import atomic

FIELD_ROLES = {Role.INSPECTOR}  # serve, acknowledge, complete: the department's inspectors
DESK_ROLES = {Role.MAINTAINER}  # void: the department's maintainers, who keep the register
# The disposals domain (above this one) registers `app.extensions[EVIDENCE_EXTENSION] =
# callable(asset_id) -> {"disposal": reference or None, "replacement": reference or None}`.
EVIDENCE_EXTENSION = "registry.notice_evidence"
# Which outcomes need a replacement besides the disposal. Plan 一(二)/8 orders 强制性更新 (replace);
# 报废 and 淘汰 (farm machines: 报废淘汰) take the asset out of service, a replacement being optional.
NEEDS_REPLACEMENT = frozenset({RuleOutcome.MANDATORY_RENEWAL})


def _require(user, notice: Notice, roles: set[Role], label: str) -> None:
    if not can_act_on(user, notice, roles):
        raise PermissionDenied(f"无权{label}通知书 {notice.label}：仅本部门"
                               + "、".join(r.label for r in roles) + "可以操作")


def _text(value: str | None, field: str, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"请填写{label}", {field: [f"{label}不能为空"]})
    if len(text) > limit:
        raise ValidationFailed(f"{label}过长", {field: [f"{label}不能超过 {limit} 个字符"]})
    return text


def _day(value: date | None, field: str, label: str, notice: Notice) -> date:
    if value is None:
        raise ValidationFailed(f"请填写{label}", {field: [f"{label}不能为空"]})
    if value > clock.today():
        raise ValidationFailed(f"{label}不能晚于今天", {field: [f"{label}不能晚于今天"]})
    if value < notice.issued_on:
        raise ValidationFailed(f"{label}不能早于发文日期", {field: [f"{label}不能早于发文日期 {notice.issued_on}"]})
    return value


@atomic
def serve(notice: Notice, user, served_on: date | None, recipient: str | None) -> Notice:
    """Record service on the owner unit: date and recipient's name."""
    _require(user, notice, FIELD_ROLES, "送达")
    ensure_open(notice, "送达")
    if notice.served_on is not None:
        raise Conflict(f"通知书 {notice.label} 已于 {notice.served_on} 送达，不能重复送达")
    served_on = _day(served_on, "served_on", "送达日期", notice)
    recipient = _text(recipient, "recipient", "签收人姓名", 64)
    before = notice.status
    notice.served_on, notice.served_recipient = served_on, recipient
    notice.served_by_id = getattr(user, "id", None)
    if notice.status is NoticeStatus.ISSUED:
        notice.status = NoticeStatus.SERVED
    add_event(notice, "serve", user, before, {"served_on": served_on.isoformat(), "recipient": recipient})
    db.session.commit()
    return notice


@atomic
def acknowledge(notice: Notice, user, note: str | None = None) -> Notice:
    """Record that the owner unit acknowledged the notice (receipt returned)."""
    _require(user, notice, FIELD_ROLES, "登记签收")
    ensure_open(notice, "登记签收")
    if notice.served_on is None:
        raise Conflict(f"通知书 {notice.label} 尚未送达，不能登记签收")
    if notice.acknowledged_at is not None:
        raise Conflict(f"通知书 {notice.label} 已登记签收")
    before = notice.status
    notice.acknowledged_at = clock.now()
    if notice.status is NoticeStatus.SERVED:
        notice.status = NoticeStatus.ACKNOWLEDGED
    add_event(notice, "acknowledge", user, before, {"note": (note or "").strip()[:200]} if note else None)
    db.session.commit()
    return notice


def _replacement(code: str | None, notice: Notice, user) -> Asset:
    code = _text(code, "replacement_code", "更新设备编号", 40)
    asset = db.session.scalar(sa.select(Asset).where(Asset.code == code, Asset.deleted_at.is_(None)))
    if asset is None or (user is not None and not can_read_asset(user, asset)):
        raise ValidationFailed(f"台账中没有编号为 {code} 的设备", {"replacement_code": [f"设备 {code} 不存在，请先登记新设备"]})
    old_ids = {i.asset_id for i in notice.items}
    categories = {i.asset.category for i in notice.items}
    if asset.id in old_ids:
        raise ValidationFailed("更新设备不能是被通知的设备本身", {"replacement_code": ["不能填写被通知设备自身的编号"]})
    if asset.category not in categories:
        cats = "、".join(sorted(c.label for c in categories))
        raise ValidationFailed("更新设备类别不符", {"replacement_code": [f"应为{cats}，实际为{asset.category.label}"]})
    return asset


def records_evidence(notice: Notice) -> list[dict]:
    """Return, per asset on the notice, its disposal and replacement references and what is still missing."""
    provider = current_app.extensions.get(EVIDENCE_EXTENSION)
    rows = []
    for item in notice.items:
        found = provider(item.asset_id) if provider else {}
        missing = [] if found.get("disposal") else ["处置记录"]
        if item.outcome in NEEDS_REPLACEMENT and not found.get("replacement"):
            missing.append("更新记录")
        rows.append({"asset": item.asset, "outcome": item.outcome, "disposal": found.get("disposal"),
                     "replacement": found.get("replacement"), "missing": missing})
    return rows


def _complete_by_records(notice: Notice, user) -> tuple[str, dict[int, LifecycleStatus], list[dict]]:
    """Check every asset has its records; return (reference, new status per asset, per-asset evidence)."""
    rows = records_evidence(notice)
    lacking = [f"{r['asset'].code}（{r['outcome'].label}）缺{'、'.join(r['missing'])}" for r in rows if r["missing"]]
    if lacking:
        raise ValidationFailed("尚有设备缺少处置或更新记录，不能办结", {"kind": ["；".join(lacking)]})
    statuses = {r["asset"].id: LifecycleStatus.RENEWED if r["replacement"] else LifecycleStatus.SCRAPPED for r in rows}
    evidence = [{"asset": r["asset"].code, "disposal": r["disposal"], "replacement": r["replacement"]} for r in rows]
    return f"{len(rows)} 台设备的处置与更新记录", statuses, evidence


@atomic
def complete(notice: Notice, user, kind: CompletionKind | str | None, reference: str | None = None,
             replacement_code: str | None = None) -> Notice:
    """Close the notice with disposal evidence; the old assets become 已更新 or 已报废."""
    _require(user, notice, FIELD_ROLES, "办结")
    ensure_open(notice, "办结")
    if not kind:
        raise ValidationFailed("办结须提供处置凭证", {"kind": ["请选择凭证类型：处置与更新记录、报废证明、注销登记或更新替换设备"]})
    try:
        kind = CompletionKind(kind) if not isinstance(kind, CompletionKind) else kind
    except ValueError:
        raise ValidationFailed("凭证类型无效", {"kind": [f"未知凭证类型 {kind}"]}) from None
    replacement, statuses, evidence = None, {}, None
    if kind is CompletionKind.RECORDS:
        reference, statuses, evidence = _complete_by_records(notice, user)
        new_status = None
    elif kind is CompletionKind.REPLACEMENT:
        replacement = _replacement(replacement_code, notice, user)
        reference = replacement.code
        new_status = LifecycleStatus.RENEWED
    else:
        label = "报废证明编号" if kind is CompletionKind.SCRAP_CERTIFICATE else "注销登记编号"
        reference = _text(reference, "reference", label, 64)
        new_status = LifecycleStatus.SCRAPPED
    before = notice.status
    notice.status = NoticeStatus.COMPLETED
    notice.completed_at = clock.now()
    notice.completion_kind, notice.completion_reference = kind, reference
    notice.replacement_asset_id = replacement.id if replacement else None
    reason = f"通知书 {notice.label} 办结：{kind.label} {reference}"
    for status in (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED):
        ids = [i.asset_id for i in notice.items if statuses.get(i.asset_id, new_status) is status]
        if ids:
            change_status(ids, status, user, source="notice", reason=reason)
    details = {"kind": kind.value, "reference": reference, "replacement_asset_id": notice.replacement_asset_id}
    if evidence is not None:
        details["assets"] = evidence
    add_event(notice, "complete", user, before, details)
    db.session.commit()
    return notice


@atomic
def void(notice: Notice, user, reason: str | None) -> Notice:
    """Void a notice with a reason; it keeps its number, and its assets return to 在用."""
    _require(user, notice, DESK_ROLES, "作废")
    ensure_open(notice, "作废")
    reason = _text(reason, "reason", "作废原因", 200)
    before = notice.status
    notice.status = NoticeStatus.VOIDED
    notice.voided_at = clock.now()
    notice.void_reason = reason
    db.session.flush()
    # An asset another open notice still holds stays 已下达通知.
    other = aliased(NoticeItemRow)
    held_elsewhere = (sa.select(other.asset_id).join(Notice, Notice.id == other.notice_id)
                      .where(other.asset_id.in_([i.asset_id for i in notice.items]),
                             Notice.status.in_(SIGNED_ACTIVE_STATUSES)))
    released = sa.select(NoticeItemRow.asset_id).where(NoticeItemRow.notice_id == notice.id,
                                                       NoticeItemRow.asset_id.not_in(held_elsewhere))
    change_status(released, LifecycleStatus.IN_USE, user, source="notice", reason=f"通知书 {notice.label} 作废",
                  only_from=(LifecycleStatus.NOTIFIED,))
    add_event(notice, "void", user, before, {"reason": reason})
    db.session.commit()
    return notice


def mark_overdue(as_of: date | None = None) -> list[Notice]:
    """Move every open notice whose deadline has passed to 已逾期; return them (for the monthly reminder)."""
    as_of = as_of or clock.today()
    notices = list(db.session.scalars(sa.select(Notice).where(
        Notice.status.in_(OPEN_STATUSES), Notice.deadline.is_not(None), Notice.deadline < as_of)
        .order_by(Notice.department_id, Notice.township, Notice.id)))
    for notice in notices:
        before = notice.status
        notice.status = NoticeStatus.OVERDUE
        add_event(notice, "overdue", None, before, {"deadline": notice.deadline.isoformat(),
                                                    "as_of": as_of.isoformat()})
    db.session.commit()
    return notices


def overdue_list(department_id: int | None = None) -> list[Notice]:
    """Return the notices currently overdue (the monthly reminder's list)."""
    stmt = sa.select(Notice).where(Notice.status == NoticeStatus.OVERDUE)
    if department_id is not None:
        stmt = stmt.where(Notice.department_id == department_id)
    return list(db.session.scalars(stmt.order_by(Notice.department_id, Notice.deadline, Notice.id)))

