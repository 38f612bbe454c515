"""Notices from mandatory findings: draft (validate, group, fill the text), then sign (number, store).

Drafting takes no number; a department head signs drafts one by one or in a batch, and only then
is the next document number taken (numbering.py). Services own the transaction.
"""
from __future__ import annotations

import secrets
from collections import OrderedDict
from datetime import date

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.accounts.scoping import can_read_asset, can_read_department, department_scope
from registry.assets.models import Asset
from registry.assets.services import change_status
from registry.audit import services as audit
from registry.bulk import chunked
from registry.enums import LifecycleStatus, NoticeStatus, Role, RuleOutcome
from registry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices import texts
from registry.notices.documents import full_date
from registry.notices.items import Deadline, NoticeAsset, NoticeItem, by_asset
from registry.notices.models import FINAL_STATUSES, OPEN_STATUSES, Notice, NoticeEvent, NoticeItemRow
from registry.notices.batch import queue_render
from registry.notices.numbering import format_number, next_serial
from registry.notices.printing import pdf_response, print_order
from registry.notices.seals import active_seal
from registry.pdf import MissingGlyphs, check_glyphs
from registry.transactions import atomic

# Statuses that still hold an asset (a second notice or draft for it would duplicate the demand).
ACTIVE_STATUSES = (NoticeStatus.DRAFT, *OPEN_STATUSES, NoticeStatus.OVERDUE)
# Signed statuses that still hold an asset (its lifecycle status stays 已下达通知).
SIGNED_ACTIVE_STATUSES = (*OPEN_STATUSES, NoticeStatus.OVERDUE)
DRAFTING_ROLES = {Role.MAINTAINER, Role.INSPECTOR}  # who may make a draft (出具通知书)
SIGNING_ROLES = {Role.DEPT_HEAD}  # who may sign (签发): the department head, never the drafter
EARLIEST_ISSUE = date(1900, 1, 1)  # a notice may be back-dated (recorded late), never dated in the future


def notice_scope(user):
    """Return a SQL condition limiting notices to those `user` may read (same rule as assets)."""
    return department_scope(user, Notice.department_id)


def can_read_notice(user, notice: Notice) -> bool:
    """Tell whether `user` may read `notice`."""
    return can_read_department(user, notice.department_id)


def can_act_on(user, notice: Notice, roles: set[Role]) -> bool:
    """Tell whether `user` holds one of `roles` in the notice's department (None = command line)."""
    if user is None:
        return True
    return user.role in roles and user.department_id == notice.department_id


def add_event(notice: Notice, action: str, user, before: NoticeStatus | None, details: dict | None = None) -> None:
    """Record one lifecycle event (who, when, from/to, evidence) and its audit record."""
    db.session.add(NoticeEvent(notice=notice, action=action, user_id=getattr(user, "id", None),
                               from_status=before, to_status=notice.status, details=details or None))
    audit.record(f"notice.{action}", object_type="notice", object_id=notice.id, user=user,
                 details={"number": notice.label, "from": before.value if before else None,
                          "to": notice.status.value, **(details or {})})


def _validate(items: list[NoticeItem], user) -> list[NoticeAsset]:
    """Gather every mandatory finding per asset; raise if any asset may not get a notice."""
    errors: dict[str, list[str]] = {}
    valid: list[NoticeItem] = []
    for it in items:
        a = it.asset
        if user is not None and not (can_read_asset(user, a) and user.role in DRAFTING_ROLES):
            raise PermissionDenied(f"无权为设备 {a.code} 出具通知书：仅本部门维护员或检查员可以拟稿")
        if not (it.mandatory and it.outcome.is_mandatory):
            errors.setdefault(a.code, []).append(f"规则 {it.rule_code} 的结论“{it.outcome.label}”不是强制性结论")
            continue
        if a.deleted_at is not None or a.status in (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED):
            errors.setdefault(a.code, []).append(f"设备状态为“{a.status.label}”或已删除，不能出具通知书")
            continue
        valid.append(it)
    chosen = {na.asset.id: na for na in by_asset(valid)}
    if chosen:
        held = [row for batch in chunked(sorted(chosen)) for row in db.session.execute(
            sa.select(NoticeItemRow.asset_id, Notice.number, Notice.id).join(Notice)
            .where(NoticeItemRow.asset_id.in_(batch), Notice.status.in_(ACTIVE_STATUSES)))]
        for asset_id, number, notice_id in held:
            errors.setdefault(chosen[asset_id].asset.code, []).append(
                f"已有未办结的通知书 {number}" if number else f"已有待签发的拟稿 拟稿#{notice_id}")
    if errors:
        raise ValidationFailed("以下设备不能出具通知书（未占用文号）", errors)
    if not chosen:
        raise ValidationFailed("没有可出具通知书的强制性规则结论（未占用文号）")
    return list(chosen.values())


def _groups(assets: list[NoticeAsset]) -> list[list[NoticeAsset]]:
    """Group assets per owner unit and department, ordered by township, unit and asset code."""
    groups: dict[tuple, list[NoticeAsset]] = OrderedDict()
    for na in sorted(assets, key=lambda n: (n.asset.owner_unit.township, n.asset.owner_unit.name,
                                            n.asset.department.code, n.asset.code)):
        groups.setdefault((na.asset.owner_unit_id, na.asset.department_id), []).append(na)
    return list(groups.values())


def _clean(text: str) -> str:
    return text.strip().rstrip("。；;.，,")


def _findings_text(na: NoticeAsset) -> str:
    """Return the asset's findings for the body: one as is, several numbered, strictest first."""
    if len(na.items) == 1:
        return _clean(na.items[0].explanation)
    return "；".join(f"（{n}）{_clean(i.explanation)}，应予{i.outcome.label}" for n, i in enumerate(na.items, 1))


def deadline_note(deadlines: list[Deadline]) -> str:
    """Say, in the notice's words, which fixed dates had passed and how the new deadline is counted."""
    passed = [d for d in deadlines if d.passed_rule_date is not None]
    if not passed:
        return ""
    dates = "、".join(full_date(d) for d in sorted({d.passed_rule_date for d in passed}))
    days = {d.days for d in passed}
    whose = "" if len(passed) == len(deadlines) else "相关设备的"
    counted = (f"{whose}整改期限自本通知书发文之日起{days.pop()}日计算" if len(days) == 1
               else f"{whose}整改期限自本通知书发文之日起重新计算（详见附件）")
    return f"方案规定的完成期限{dates}已过，{counted}。"


def _deadline_text(deadlines: list[Deadline]) -> str:
    dues = sorted({d.due for d in deadlines})
    if len(dues) == 1:
        return full_date(dues[0])
    return f"附件所列各设备整改期限（最早为{full_date(dues[0])}）"


def _values(group: list[NoticeAsset]) -> dict[str, str]:
    first = group[0].asset
    many = len(group) > 1
    outcomes = RuleOutcome.strictest_first(i.outcome for na in group for i in na.items)
    deadlines = [na.deadline for na in group]
    return {
        "产权单位": first.owner_unit.name,
        "发文机关": first.department.full_name,
        "联系方式": first.department.contact or "",
        "设备": f"{first.name}等{len(group)}台设备（详见附件）" if many else f"{first.name}（编号：{first.code}）",
        "设备数量": str(len(group)),
        "触发情形": "各设备触发情形及数据详见附件" if many else _findings_text(group[0]),
        "依据": texts.citations_text(c for na in group for c in na.citations) or "相关规定",
        "期限": _deadline_text(deadlines),
        "期限说明": deadline_note(deadlines),
        "处理要求": "、".join(o.label for o in outcomes),
    }


def _check_glyphs(title: str, body: str, group: list[NoticeItem]) -> None:
    first = group[0].asset
    text = (title + body + first.owner_unit.name + first.department.full_name + (first.department.contact or "")
            + "".join(na.asset.name + na.asset.code + (na.asset.address or "")
                      + "".join(i.explanation + i.citation for i in na.items) for na in group))
    try:
        check_glyphs(text)
    except MissingGlyphs as exc:
        raise ValidationFailed(f"设备 {group[0].asset.code} 的通知书含有无法打印的字符：{exc}（未占用文号）",
                               {group[0].asset.code: [f"无法打印的字符：{exc}"]}) from exc


def _location(asset: Asset) -> str:
    return (asset.address or asset.township or "")[:200]


def _item_citation(na: NoticeAsset) -> str:
    """Return the asset's citation: the rule's own text, or several grouped by document."""
    return (na.citations[0] if len(na.citations) == 1 else texts.citations_text(na.citations))[:200]


def _item_row(na: NoticeAsset, position: int) -> NoticeItemRow:
    """Freeze one asset's findings on the notice: the strictest first, the earliest deadline."""
    top, due = na.items[0], na.deadline
    findings = [{"rule_code": i.rule_code, "rule_version": i.rule_version, "citation": i.citation,
                 "outcome": i.outcome.value, "explanation": i.explanation, "figures": i.figures,
                 "finding_id": i.finding_id, **d.as_json()} for i, d in zip(na.items, na.deadlines)]
    return NoticeItemRow(
        asset_id=na.asset.id, position=position, finding_id=top.finding_id, rule_code=top.rule_code,
        rule_version=top.rule_version, citation=_item_citation(na), outcome=top.outcome,
        explanation="\n".join(i.explanation for i in na.items), figures=top.figures, deadline=due.due,
        rule_deadline=due.passed_rule_date, findings=findings, asset_code=na.asset.code,
        asset_name=na.asset.name, asset_location=_location(na.asset))


def draft_notices(items: list[NoticeItem], user=None, issued_on: date | None = None,
                  snapshot_id: int | None = None) -> list[Notice]:
    """Make one draft (拟稿, no number) per owner unit and department from mandatory items; commit.

    Each asset lists every mandatory finding given for it; the draft uses the template of the
    strictest outcome, and each asset's deadline is the earliest of its findings' (never before
    `issued_on`, the proposed 发文日期). `user` None is the scheduled job or the command line.
    """
    issued_on = issued_on or clock.today()
    _check_issue_date(issued_on)
    chosen = _validate(items, user)
    default_days = current_app.config["NOTICE_DEADLINE_DAYS"]
    prepared = []
    for group in _groups(chosen):
        for na in group:
            na.with_deadlines(issued_on, default_days)
        outcome = RuleOutcome.strictest_first(na.outcome for na in group)[0]
        tpl = texts.get_template(outcome)
        values = _values(group)
        title, body = texts.fill(tpl.title, values), texts.fill_body(tpl.body, values)
        _check_glyphs(title, body, group)
        prepared.append((group, outcome, tpl, title, body))
    drafts = []
    for group, outcome, tpl, title, body in prepared:
        first = group[0].asset
        notice = Notice(department=first.department, owner_unit_id=first.owner_unit_id,
                        township=first.owner_unit.township, outcome=outcome, title=title, body=body,
                        deadline=min(na.deadline.due for na in group), issued_on=issued_on,
                        drafted_by_id=getattr(user, "id", None), template_id=tpl.id,
                        template_version=tpl.version, status=NoticeStatus.DRAFT, snapshot_id=snapshot_id)
        db.session.add(notice)
        for pos, na in enumerate(group, 1):
            notice.items.append(_item_row(na, pos))
        db.session.flush()
        add_event(notice, "draft", user, None, {"assets": [na.asset.code for na in group],
                                                "snapshot_id": snapshot_id})
        drafts.append(notice)
    db.session.commit()
    return drafts


def _frozen_assets(notice: Notice) -> list[NoticeAsset]:
    """Rebuild a draft's assets and findings, with their deadline policies, from what the draft froze."""
    group = []
    for row in sorted(notice.items, key=lambda r: r.position):
        items = []
        for f in row.findings or []:
            passed, days = f.get("rule_deadline"), f.get("days")
            items.append(NoticeItem(
                asset=row.asset, rule_code=f["rule_code"], rule_version=f["rule_version"], citation=f["citation"],
                outcome=RuleOutcome(f["outcome"]), explanation=f["explanation"], figures=f.get("figures"),
                finding_id=f.get("finding_id"),
                deadline=date.fromisoformat(passed) if passed else (None if days else date.fromisoformat(f["deadline"])),
                deadline_days=None if passed else days, late_days=days if passed else None))
        group.append(NoticeAsset(asset=row.asset, items=items))
    return group


def _redate(notice: Notice, issued_on: date) -> None:
    """Count a draft's deadlines again from the date it is signed on, and say so in its text.

    A draft proposes a 发文日期; when the head signs on another day, every deadline counted
    "N days after the notice" moves with it, and a fixed date that has passed meanwhile is counted
    from the new date. Only the deadline phrases of the previewed text change.
    """
    if notice.issued_on == issued_on:
        return
    default_days = current_app.config["NOTICE_DEADLINE_DAYS"]
    group = _frozen_assets(notice)
    before = [na.with_deadlines(notice.issued_on, default_days).deadline for na in group]
    after = [na.with_deadlines(issued_on, default_days).deadline for na in group]
    for old, new in ((_deadline_text(before), _deadline_text(after)), (deadline_note(before), deadline_note(after))):
        if old and old != new:
            notice.title, notice.body = notice.title.replace(old, new), notice.body.replace(old, new)
    rows = sorted(notice.items, key=lambda r: r.position)
    for row, na in zip(rows, group):
        row.deadline, row.rule_deadline = na.deadline.due, na.deadline.passed_rule_date
        row.findings = [{**f, **d.as_json()} for f, d in zip(row.findings or [], na.deadlines)]
    notice.deadline, notice.issued_on = min(na.deadline.due for na in group), issued_on


def _check_issue_date(issued_on: date) -> None:
    if not EARLIEST_ISSUE <= issued_on <= clock.today():
        raise ValidationFailed("发文日期有误（未占用文号）",
                               {"issued_on": [f"发文日期：应在 {EARLIEST_ISSUE} 到今天（{clock.today()}）之间"]})


def _locked_drafts(ids: list[int]) -> list[Notice]:
    """Return the notices `ids`, locked for the rest of the transaction and re-read from the database."""
    ids = sorted(set(ids))
    if db.session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock first (a no-op write), so a concurrent signer waits and then sees our commit.
        for batch in chunked(ids):
            db.session.execute(sa.update(Notice).where(Notice.id.in_(batch)).values(status=Notice.status))
    rows: list[Notice] = []
    for batch in chunked(ids):
        # Locked in id order by every signer, so two batches that overlap cannot deadlock.
        rows.extend(db.session.scalars(sa.select(Notice).where(Notice.id.in_(batch)).order_by(Notice.id)
                                       .with_for_update(of=Notice).execution_options(populate_existing=True)))
    return rows


def draft_ids(department_id: int | None) -> list[int]:
    """Return the ids of a department's drafts awaiting signature, oldest first."""
    return list(db.session.scalars(sa.select(Notice.id).where(Notice.status == NoticeStatus.DRAFT,
                                                              Notice.department_id == department_id)
                                   .order_by(Notice.id)))


@atomic
def sign_notices(ids: list[int], user, issued_on: date | None = None, render: bool = True) -> list[Notice]:
    """Sign drafts (签发) as the department head: all or none, numbers taken now in print order; commit.

    `render`: queue the background task that renders and stores their PDFs (off only for bulk set-ups).
    """
    if user is None or getattr(user, "role", None) not in SIGNING_ROLES:
        raise PermissionDenied("无权签发通知书：仅本部门负责人可以签发")
    if not ids:
        raise ValidationFailed("请选择要签发的拟稿", {"ids": ["至少选择一份拟稿"]})
    issued_on = issued_on or clock.today()
    _check_issue_date(issued_on)
    notices = _locked_drafts(ids)
    found = {n.id for n in notices if can_read_notice(user, n)}
    missing = [i for i in sorted(set(ids)) if i not in found]
    if missing:
        # Listed in the body, not the path: one 422 for missing and other departments' drafts alike.
        raise ValidationFailed("拟稿不存在或无权查看", {"ids": ["拟稿不存在或无权查看：" + "、".join(f"#{i}" for i in missing)]})
    errors: dict[str, list[str]] = {}
    for n in notices:
        if n.status is not NoticeStatus.DRAFT:
            errors.setdefault(n.label, []).append(f"状态为“{n.status.label}”，不是待签发的拟稿")
        elif n.department_id != user.department_id:
            errors.setdefault(n.label, []).append("不是本部门的拟稿")
        elif n.drafted_by_id is not None and n.drafted_by_id == user.id:
            errors.setdefault(n.label, []).append("拟稿人不能签发自己起草的通知书（须由另一人审核签发）")
        else:
            _redate(n, issued_on)  # deadlines count from the day it is signed, not the day it was drafted
            if n.deadline is not None and n.deadline < issued_on:
                errors.setdefault(n.label, []).append(f"整改期限 {n.deadline} 早于发文日期 {issued_on}，请撤稿后重新拟稿")
    if errors:
        raise Conflict("以下拟稿不能签发（未占用文号，未作任何修改）", errors)
    ordered = list(db.session.scalars(print_order(sa.select(Notice).where(Notice.id.in_(found)))))
    signed_at = clock.now()
    # Numbers are taken last, after every check and under the row locks: a refused batch consumes none.
    for notice in ordered:
        dept = notice.department
        serial = next_serial(dept.id, issued_on.year)
        seal = active_seal(dept.id)
        notice.year, notice.serial = issued_on.year, serial
        notice.number = format_number(dept.doc_prefix or dept.name, issued_on.year, serial)
        notice.token = secrets.token_urlsafe(24)
        notice.issued_on, notice.issued_at, notice.issued_by_id = issued_on, signed_at, user.id
        notice.seal_id = seal.id if seal else None
        notice.status = NoticeStatus.ISSUED
        change_status([i.asset_id for i in notice.items], LifecycleStatus.NOTIFIED, user, source="notice",
                      reason=f"通知书 {notice.number}")
        db.session.flush()
        add_event(notice, "sign", user, NoticeStatus.DRAFT, {"issued_on": issued_on.isoformat()})
    db.session.commit()
    if render:
        # One background task for the whole batch: the PDFs are stored before anyone downloads them.
        queue_render(ordered, user)
    return ordered


@atomic
def discard_draft(notice: Notice, user, reason: str | None) -> Notice:
    """Discard a draft with a reason (撤稿); it never had a number, so none is lost; commit."""
    if user is not None and not can_act_on(user, notice, SIGNING_ROLES | {Role.MAINTAINER}):
        raise PermissionDenied("无权撤稿：仅本部门负责人或维护员可以撤稿")
    [notice] = _locked_drafts([notice.id])
    if notice.status is not NoticeStatus.DRAFT:
        raise Conflict(f"通知书 {notice.label} 状态为“{notice.status.label}”，只有拟稿可以撤稿")
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("请填写撤稿原因", {"reason": ["撤稿原因不能为空"]})
    if len(text) > 200:
        raise ValidationFailed("撤稿原因过长", {"reason": ["撤稿原因不能超过 200 个字符"]})
    notice.status, notice.voided_at, notice.void_reason = NoticeStatus.DISCARDED, clock.now(), text
    add_event(notice, "discard", user, NoticeStatus.DRAFT, {"reason": text})
    db.session.commit()
    return notice


def supersede_draft(draft: Notice, reason: str) -> None:
    """Mark a draft superseded by newer findings (the caller links its successor and commits)."""
    draft.status = NoticeStatus.SUPERSEDED
    add_event(draft, "supersede", None, NoticeStatus.DRAFT, {"reason": reason})


def get_notice(notice_id: int, user=None) -> Notice:
    """Return a notice `user` may read, or raise NotFound (also for other departments' notices)."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or (user is not None and not can_read_notice(user, notice)):
        raise NotFound("通知书不存在或无权查看")
    return notice


def notice_by_token(token: str) -> Notice | None:
    """Return the signed notice whose QR token is `token` (drafts have none), or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Notice).where(Notice.token == token, Notice.number.is_not(None)))


def ensure_open(notice: Notice, action_label: str) -> None:
    """Raise Conflict when a final notice, or an unsigned draft, is asked to change its lifecycle."""
    if notice.status in FINAL_STATUSES:
        raise Conflict(f"通知书 {notice.label} {notice.status.label}，不能{action_label}")
    if notice.status is NoticeStatus.DRAFT:
        raise Conflict(f"通知书 {notice.label} 尚未签发，不能{action_label}")


def find_notices(user, *, status: NoticeStatus | None = None, township: str | None = None,
                 unprinted: bool = False, ids: list[int] | None = None, limit: int | None = None,
                 signed: bool = False) -> list[Notice]:
    """Return notices `user` may read matching the filter, in print order; `signed`: numbered ones only."""
    stmt = sa.select(Notice)
    if user is not None:
        stmt = stmt.where(notice_scope(user))
    if status is not None:
        stmt = stmt.where(Notice.status == status)
    if township:
        stmt = stmt.where(Notice.township == township)
    if unprinted:
        stmt = stmt.where(Notice.printed_at.is_(None))
    if signed:
        stmt = stmt.where(Notice.number.is_not(None))
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


def download_pdf(notice_id: int, user):
    """Return the stored PDF of a notice `user` may read as a download response, the download audited; commits."""
    notice = get_notice(notice_id, user)
    response = pdf_response(notice)
    record_download(notice, user)
    return response
