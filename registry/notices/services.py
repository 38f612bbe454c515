"""Issuing notices from mandatory findings: validate, group, number, store. Services own the transaction."""
from __future__ import annotations

import secrets
from collections import OrderedDict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from registry.accounts.scoping import CITYWIDE_ROLES, NO_DATA_ROLES, can_read_asset
from registry.assets.models import Asset, AssetChange
from registry.audit import services as audit
from registry.bulk import chunked
from registry.enums import LifecycleStatus, NoticeStatus, Role, RuleOutcome
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices import texts
from registry.notices.documents import full_date
from registry.notices.items import NoticeItem
from registry.notices.models import Notice, NoticeEvent, NoticeItemRow, OPEN_STATUSES
from registry.notices.numbering import format_number, next_serial
from registry.notices.seals import active_seal

# Most severe first: a notice covering several outcomes uses the template of the most severe.
SEVERITY = (RuleOutcome.SCRAP, RuleOutcome.PHASE_OUT, RuleOutcome.MANDATORY_RENEWAL)
# Statuses that still hold an asset (a second notice for it would duplicate the demand).
ACTIVE_STATUSES = (*OPEN_STATUSES, NoticeStatus.OVERDUE)
EARLIEST_ISSUE = date(1900, 1, 1)  # a notice may be back-dated (recorded late), never dated in the future


def today() -> date:
    """Return today's date in the registry's time zone."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def notice_scope(user):
    """Return a SQL condition limiting notices to those `user` may read (same rule as assets)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role in NO_DATA_ROLES:
        return sa.false()
    if user.role in CITYWIDE_ROLES:
        return sa.true()
    if user.department_id is None:
        return sa.false()
    return Notice.department_id == user.department_id


def can_read_notice(user, notice: Notice) -> bool:
    """Tell whether `user` may read `notice`."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role in NO_DATA_ROLES:
        return False
    return user.role in CITYWIDE_ROLES or (user.department_id is not None
                                           and user.department_id == notice.department_id)


def can_act_on(user, notice: Notice, roles: set[Role]) -> bool:
    """Tell whether `user` holds one of `roles` in the notice's department (None = command line)."""
    if user is None:
        return True
    return user.role in roles and user.department_id == notice.department_id


def set_asset_status(asset: Asset, status: LifecycleStatus, user, reason: str) -> None:
    """Change an asset's lifecycle status with an AssetChange row and an audit record."""
    if asset.status is status:
        return
    before = asset.status
    asset.status = status
    db.session.add(AssetChange(asset_id=asset.id, user_id=getattr(user, "id", None), action="notice",
                               field="status", before=before.value, after=status.value))
    audit.record("asset.update", object_type="asset", object_id=asset.id, user=user,
                 details={"before": {"status": before.value}, "after": {"status": status.value}, "reason": reason})


def add_event(notice: Notice, action: str, user, before: NoticeStatus | None, details: dict | None = None) -> None:
    """Record one lifecycle event (who, when, from/to, evidence) and its audit record."""
    db.session.add(NoticeEvent(notice=notice, action=action, user_id=getattr(user, "id", None),
                               from_status=before, to_status=notice.status, details=details or None))
    audit.record(f"notice.{action}", object_type="notice", object_id=notice.id, user=user,
                 details={"number": notice.number, "from": before.value if before else None,
                          "to": notice.status.value, **(details or {})})


def _validate(items: list[NoticeItem], user) -> list[NoticeItem]:
    """Keep one item per asset (earliest deadline); raise if any asset may not get a notice."""
    errors: dict[str, list[str]] = {}
    chosen: dict[int, NoticeItem] = {}
    for it in items:
        a = it.asset
        if user is not None and not (can_read_asset(user, a) and user.role is Role.MAINTAINER):
            raise PermissionDenied(f"无权为设备 {a.code} 出具通知书：仅本部门维护员可以出具")
        if not (it.mandatory and it.outcome.is_mandatory):
            errors.setdefault(a.code, []).append(f"规则 {it.rule_code} 的结论“{it.outcome.label}”不是强制性结论")
            continue
        if a.deleted_at is not None or a.status in (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED):
            errors.setdefault(a.code, []).append(f"设备状态为“{a.status.label}”或已删除，不能出具通知书")
            continue
        prev = chosen.get(a.id)
        if prev is None or (it.deadline or date.max, it.rule_code) < (prev.deadline or date.max, prev.rule_code):
            chosen[a.id] = it
    if chosen:
        held = [row for batch in chunked(sorted(chosen)) for row in db.session.execute(
            sa.select(NoticeItemRow.asset_id, Notice.number).join(Notice)
            .where(NoticeItemRow.asset_id.in_(batch), Notice.status.in_(ACTIVE_STATUSES)))]
        for asset_id, number in held:
            errors.setdefault(chosen[asset_id].asset.code, []).append(f"已有未办结的通知书 {number}")
    if errors:
        raise ValidationFailed("以下设备不能出具通知书（未占用文号）", errors)
    if not chosen:
        raise ValidationFailed("没有可出具通知书的强制性规则结论（未占用文号）")
    return list(chosen.values())


def _groups(items: list[NoticeItem]) -> list[list[NoticeItem]]:
    """Group items per owner unit and department, ordered by township, unit and asset code."""
    groups: dict[tuple, list[NoticeItem]] = OrderedDict()
    for it in sorted(items, key=lambda i: (i.asset.owner_unit.township, i.asset.owner_unit.name,
                                           i.asset.department.code, i.asset.code)):
        groups.setdefault((it.asset.owner_unit_id, it.asset.department_id), []).append(it)
    return list(groups.values())


def _clean(text: str) -> str:
    return text.strip().rstrip("。；;.，,")


def _values(group: list[NoticeItem], deadline: date) -> dict[str, str]:
    first = group[0].asset
    many = len(group) > 1
    outcomes = [o for o in SEVERITY if any(i.outcome is o for i in group)]
    return {
        "产权单位": first.owner_unit.name,
        "发文机关": first.department.full_name,
        "联系方式": first.department.contact or "",
        "设备": f"{first.name}等{len(group)}台设备（详见附件）" if many else f"{first.name}（编号：{first.code}）",
        "设备数量": str(len(group)),
        "触发情形": "各设备触发情形及数据详见附件" if many else _clean(group[0].explanation),
        "依据": "、".join(dict.fromkeys(i.citation for i in group if i.citation)) or "相关规定",
        "期限": full_date(deadline),
        "处理要求": "、".join(o.label for o in outcomes),
    }


def _check_glyphs(title: str, body: str, group: list[NoticeItem]) -> None:
    from registry.pdf import MissingGlyphs, check_glyphs
    first = group[0].asset
    text = title + body + first.owner_unit.name + first.department.full_name + (first.department.contact or "") + "".join(i.asset.name + i.asset.code + (i.asset.address or "") + i.explanation
                                  + i.citation for i in group)
    try:
        check_glyphs(text)
    except MissingGlyphs as exc:
        raise ValidationFailed(f"设备 {group[0].asset.code} 的通知书含有无法打印的字符：{exc}（未占用文号）",
                               {group[0].asset.code: [f"无法打印的字符：{exc}"]}) from exc


def _location(asset: Asset) -> str:
    return (asset.address or asset.township or "")[:200]


def issue_notices(items: list[NoticeItem], user=None, issued_on: date | None = None,
                  snapshot_id: int | None = None, render: bool = True) -> list[Notice]:
    """Issue one numbered notice per owner unit and department; commit, then store each PDF."""
    issued_on = issued_on or today()
    if not EARLIEST_ISSUE <= issued_on <= today():
        raise ValidationFailed("发文日期有误（未占用文号）",
                               {"issued_on": [f"发文日期：应在 {EARLIEST_ISSUE} 到今天（{today()}）之间"]})
    chosen = _validate(items, user)
    default_days = current_app.config["NOTICE_DEADLINE_DAYS"]
    prepared = []
    for group in _groups(chosen):
        outcome = next(o for o in SEVERITY if any(i.outcome is o for i in group))
        tpl = texts.get_template(outcome)
        deadlines = [i.deadline_for(issued_on, default_days) for i in group]
        values = _values(group, min(deadlines))
        title, body = texts.fill(tpl.title, values), texts.fill(tpl.body, values)
        _check_glyphs(title, body, group)
        prepared.append((group, outcome, tpl, deadlines, title, body))
    notices = []
    # Numbers are taken last, after every check: a failed issue consumes none.
    for group, outcome, tpl, deadlines, title, body in prepared:
        first = group[0].asset
        dept = first.department
        serial = next_serial(dept.id, issued_on.year)
        seal = active_seal(dept.id)
        notice = Notice(department=dept, owner_unit_id=first.owner_unit_id, year=issued_on.year, serial=serial,
                        number=format_number(dept.doc_prefix or dept.name, issued_on.year, serial),
                        token=secrets.token_urlsafe(24), township=first.owner_unit.township, outcome=outcome,
                        title=title, body=body, deadline=min(deadlines), issued_on=issued_on,
                        issued_by_id=getattr(user, "id", None), template_id=tpl.id,
                        template_version=tpl.version, seal_id=seal.id if seal else None,
                        status=NoticeStatus.ISSUED, snapshot_id=snapshot_id)
        db.session.add(notice)
        for pos, (it, deadline) in enumerate(zip(group, deadlines), 1):
            notice.items.append(NoticeItemRow(
                asset_id=it.asset.id, position=pos, finding_id=it.finding_id, rule_code=it.rule_code,
                rule_version=it.rule_version, citation=it.citation, outcome=it.outcome,
                explanation=it.explanation, figures=it.figures, deadline=deadline, asset_code=it.asset.code,
                asset_name=it.asset.name, asset_location=_location(it.asset)))
            set_asset_status(it.asset, LifecycleStatus.NOTIFIED, user, f"通知书 {notice.number}")
        db.session.flush()
        add_event(notice, "issue", user, None, {"assets": [i.asset.code for i in group],
                                                "snapshot_id": snapshot_id})
        notices.append(notice)
    db.session.commit()
    if render:
        from registry.notices.printing import render_and_store
        render_and_store(notices)
    return notices


def get_notice(notice_id: int, user=None) -> Notice:
    """Return a notice `user` may read, or raise NotFound (also for other departments' notices)."""
    from registry.errors import NotFound
    notice = db.session.get(Notice, notice_id)
    if notice is None or (user is not None and not can_read_notice(user, notice)):
        raise NotFound("通知书不存在或无权查看")
    return notice


def ensure_open(notice: Notice, action_label: str) -> None:
    """Raise Conflict when a final notice is asked to change."""
    if notice.status in (NoticeStatus.COMPLETED, NoticeStatus.VOIDED):
        raise Conflict(f"通知书 {notice.number} {notice.status.label}，不能{action_label}")


def find_notices(user, *, status: NoticeStatus | None = None, township: str | None = None,
                 unprinted: bool = False, ids: list[int] | None = None, limit: int | None = None) -> list[Notice]:
    """Return notices `user` may read matching the filter, in print order (township, unit, number)."""
    from registry.notices.printing import print_order
    stmt = sa.select(Notice)
    if user is not None:
        stmt = stmt.where(notice_scope(user))
    if status is not None:
        stmt = stmt.where(Notice.status == status)
    if township:
        stmt = stmt.where(Notice.township == township)
    if unprinted:
        stmt = stmt.where(Notice.printed_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notice.id.in_(ids))
    stmt = print_order(stmt)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def record_download(notice: Notice, user) -> None:
    """Audit a download of the stored PDF; commits."""
    audit.record("notice.download", object_type="notice", object_id=notice.id, user=user,
                 details={"number": notice.number, "sha256": notice.pdf_sha256})
    db.session.commit()
