"""Drafts (拟稿) and signing (签发): numbers taken at signing only, four eyes, all or none, concurrency."""
from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import LifecycleStatus, NoticeStatus
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices import lifecycle
from registry.notices.models import DocumentCounter, Notice
from registry.notices.services import discard_draft, draft_notices, sign_notices, supersede_draft
from tests.factories import make_unit, make_user
from tests.notice_factories import flagged_assets, head_of, item_for

DAY = date(2025, 7, 16)


def _drafts(n: int, user=None) -> list[Notice]:
    """Return `n` drafts of 住建局, one owner unit each."""
    return [draft_notices(flagged_assets(1), user, issued_on=DAY)[0] for _ in range(n)]


def _state(*notices):
    """What signing may change: status, number, token, events, counters, asset statuses."""
    db.session.expire_all()
    rows = [db.session.get(Notice, n.id) for n in notices]
    return ([(r.status, r.number, r.token, len(r.events), [i.asset.status for i in r.items]) for r in rows],
            db.session.execute(sa.select(DocumentCounter.department_id, DocumentCounter.year,
                                         DocumentCounter.last_number)).all())


def test_a_draft_has_no_number_and_a_discarded_one_consumes_none(ctx):
    first, second = _drafts(2)
    assert first.status is NoticeStatus.DRAFT and first.number is None and first.token is None
    assert all(i.asset.status is LifecycleStatus.IN_USE for i in first.items)
    discard_draft(first, make_user("maintainer", "zjj"), "主送单位有误")
    assert first.status is NoticeStatus.DISCARDED and first.void_reason == "主送单位有误"
    [signed] = sign_notices([second.id], head_of(second.department), issued_on=DAY, render=False)
    assert signed.number == "新建更〔2025〕1号" and signed.token and signed.issued_by_id
    assert [e.action for e in signed.events] == ["draft", "sign"]
    assert all(i.asset.status is LifecycleStatus.NOTIFIED for i in signed.items)


def test_a_batch_is_numbered_consecutively_in_print_order(ctx):
    units = [make_unit(township=t) for t in ("薛店镇", "和庄镇", "龙湖镇")]
    drafts = [draft_notices(flagged_assets(1, unit=u), None, issued_on=DAY)[0] for u in units]
    signed = sign_notices([d.id for d in drafts], head_of(drafts[0].department), issued_on=DAY, render=False)
    assert [(n.township, n.serial) for n in signed] == [("和庄镇", 1), ("薛店镇", 2), ("龙湖镇", 3)]


def test_the_drafter_cannot_sign_the_draft(ctx):
    """Four eyes: even after becoming a head, the person who drafted may not sign it."""
    drafter = make_user("maintainer", "zjj")
    [draft] = _drafts(1, drafter)
    from registry.enums import Role
    drafter.role = Role.DEPT_HEAD
    db.session.commit()
    before = _state(draft)
    with pytest.raises(Conflict) as err:
        sign_notices([draft.id], drafter, issued_on=DAY, render=False)
    assert "拟稿人不能签发自己起草的通知书" in str(err.value.errors)
    db.session.rollback()
    assert _state(draft) == before


@pytest.mark.parametrize("final", ["signed", "discarded", "superseded"])
def test_signing_a_draft_that_is_no_longer_a_draft_is_refused_and_changes_nothing(ctx, final):
    [draft] = _drafts(1)
    head = head_of(draft.department)
    if final == "signed":
        sign_notices([draft.id], head, issued_on=DAY, render=False)
    elif final == "discarded":
        discard_draft(draft, head, "重复")
    else:
        supersede_draft(draft, "最新评估的规则结论已变化")
        db.session.commit()
    before = _state(draft)
    with pytest.raises(Conflict) as err:
        sign_notices([draft.id], head_of(draft.department), issued_on=DAY, render=False)
    assert "不是待签发的拟稿" in str(err.value.errors) and "未占用文号" in err.value.message
    db.session.rollback()
    assert _state(draft) == before


def test_signing_another_departments_draft_is_refused(ctx):
    [draft] = _drafts(1)
    before = _state(draft)
    with pytest.raises(ValidationFailed) as err:  # the same answer as for a draft that does not exist
        sign_notices([draft.id], make_user("dept_head", "nync"), issued_on=DAY, render=False)
    assert "拟稿不存在或无权查看" in err.value.message
    db.session.rollback()
    assert _state(draft) == before


@pytest.mark.parametrize("role", ["maintainer", "inspector", "taskforce"])
def test_only_a_department_head_signs(ctx, role):
    [draft] = _drafts(1)
    before = _state(draft)
    with pytest.raises(PermissionDenied) as err:
        sign_notices([draft.id], make_user(role, None if role == "taskforce" else "zjj"), render=False)
    assert "仅本部门负责人可以签发" in err.value.message
    db.session.rollback()
    assert _state(draft) == before


def test_a_batch_with_one_bad_draft_signs_none(ctx):
    good, bad = _drafts(2)
    head = head_of(good.department)
    discard_draft(bad, head, "重复")
    before = _state(good, bad)
    with pytest.raises(Conflict):
        sign_notices([good.id, bad.id], head, issued_on=DAY, render=False)
    db.session.rollback()
    assert _state(good, bad) == before


def test_a_draft_cannot_be_served_voided_or_discarded_twice(ctx):
    [draft] = _drafts(1)
    with pytest.raises(Conflict) as err:
        lifecycle.serve(draft, make_user("inspector", "zjj"), DAY, "王建国")
    assert "尚未签发" in err.value.message
    db.session.rollback()
    head = head_of(draft.department)
    with pytest.raises(ValidationFailed):
        discard_draft(draft, head, "  ")
    db.session.rollback()
    discard_draft(draft, head, "重复")
    with pytest.raises(Conflict) as err:
        discard_draft(draft, head, "再撤一次")
    assert "只有拟稿可以撤稿" in err.value.message


def test_a_second_draft_for_the_same_asset_is_refused(ctx):
    items = flagged_assets(1)
    [draft] = draft_notices(items, None, issued_on=DAY)
    with pytest.raises(ValidationFailed) as err:
        draft_notices([item_for(items[0].asset)], None, issued_on=DAY)
    assert f"拟稿#{draft.id}" in str(err.value.errors)


def _threads(target, args_list):
    threads = [threading.Thread(target=target, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def test_twenty_concurrent_signings_get_gapless_unique_numbers(app):
    """Real threads, each with its own session and connection, sign one draft each at the same moment."""
    with app.app_context():
        drafts = _drafts(20)
        draft_ids, head_id = [d.id for d in drafts], head_of(drafts[0].department).id
    barrier = threading.Barrier(20)
    serials, errors = [], []

    def sign(draft_id):
        with app.app_context():
            try:
                from registry.accounts.models import User
                barrier.wait(timeout=60)
                [n] = sign_notices([draft_id], db.session.get(User, head_id), issued_on=DAY, render=False)
                serials.append(n.serial)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    _threads(sign, draft_ids)
    assert errors == [], errors[:3]
    assert sorted(serials) == list(range(1, 21))
    with app.app_context():
        assert db.session.scalar(sa.select(DocumentCounter.last_number)) == 20
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Notice.number)))) == 20


def test_two_heads_signing_the_same_batch_exactly_one_wins(app):
    with app.app_context():
        drafts = _drafts(5)
        ids = [d.id for d in drafts]
        heads = [make_user("dept_head", "zjj").id, make_user("dept_head", "zjj").id]
    barrier = threading.Barrier(2)
    won, lost, other = [], [], []

    def sign(head_id):
        with app.app_context():
            try:
                from registry.accounts.models import User
                barrier.wait(timeout=60)
                won.append([n.serial for n in sign_notices(ids, db.session.get(User, head_id), issued_on=DAY,
                                                           render=False)])
            except Conflict as exc:
                lost.append(exc.message)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                other.append(repr(exc))
            finally:
                db.session.remove()

    _threads(sign, heads)
    assert other == [] and len(won) == 1 and len(lost) == 1, (won, lost, other)
    assert sorted(won[0]) == [1, 2, 3, 4, 5]
    with app.app_context():
        assert db.session.scalar(sa.select(DocumentCounter.last_number)) == 5
        signers = set(db.session.scalars(sa.select(Notice.issued_by_id)))
        assert len(signers) == 1 and signers <= set(heads)
        from registry.notices.models import NoticeEvent
        assert db.session.scalar(sa.select(sa.func.count()).where(NoticeEvent.action == "sign")) == 5


def test_draft_then_sign_through_the_pages(app, client, login_as):
    with app.app_context():
        [draft] = _drafts(1)
        draft_id, asset_id = draft.id, draft.items[0].asset_id
    login_as("dept_head")
    page = client.get("/notices/?status=draft").get_data(as_text=True)
    assert f'value="{draft_id}"' in page and "签发所选拟稿" in page
    detail = client.get(f"/notices/{draft_id}").get_data(as_text=True)
    assert "拟稿" in detail and "预览 PDF" in detail and f"/assets/{asset_id}#findings" in detail
    preview = client.get(f"/notices/{draft_id}/preview")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
    resp = client.post("/notices/sign", data={"ids": [str(draft_id)], "issued_on": DAY.isoformat()})
    assert resp.status_code == 303
    again = client.post("/notices/sign", data={"ids": [str(draft_id)]}, follow_redirects=True)
    assert "不是待签发的拟稿" in again.get_data(as_text=True)
    bad = client.post("/notices/sign", data={"ids": ["abc"]}, follow_redirects=True)
    assert "拟稿编号无效" in bad.get_data(as_text=True)
    with app.app_context():
        notice = db.session.get(Notice, draft_id)
        assert notice.number == "新建更〔2025〕1号" and notice.status is NoticeStatus.ISSUED


def test_api_sign_and_discard_answer_4xx_in_chinese(app, client, login_as):
    with app.app_context():
        first, second = _drafts(2)
        ids = [first.id, second.id]
    login_as("dept_head")
    discarded = client.post(f"/api/v1/notices/{ids[0]}/discard", json={"reason": "重复"})
    assert discarded.status_code == 200 and discarded.get_json()["status"] == "discarded"
    refused = client.post("/api/v1/notices/sign", json={"ids": ids})
    assert refused.status_code == 409 and "不是待签发的拟稿" in str(refused.get_json())
    assert client.post("/api/v1/notices/sign", json={"ids": []}).status_code == 422
    ok = client.post("/api/v1/notices/sign", json={"ids": [ids[1]], "issued_on": DAY.isoformat()})
    assert ok.status_code == 200 and ok.get_json()[0]["number"] == "新建更〔2025〕1号"
