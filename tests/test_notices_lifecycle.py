"""Lifecycle: served -> acknowledged -> completed, overdue, voided; bad input changes nothing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from registry.assets.models import AssetChange
from registry.clock import today
from registry.audit.models import AuditRecord
from registry.enums import Category, CompletionKind, LifecycleStatus, NoticeStatus
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices import lifecycle
from registry.notices.models import NoticeEvent
from tests.notice_factories import issue_signed
from tests.factories import make_asset, make_user
from tests.notice_factories import flagged_assets, item_for


@pytest.fixture
def people(ctx):
    """An inspector and a maintainer of 住建局, and an inspector of another department."""
    return {"inspector": make_user("inspector", "zjj"), "maintainer": make_user("maintainer", "zjj"),
            "other": make_user("inspector", "nync")}


def _issue(n=1, **kw):
    [notice] = issue_signed(flagged_assets(n, **kw), issued_on=today() - timedelta(days=5), render=False)
    return notice


def _dispose(notice, maintainer):
    """Record a disposal for every asset on the notice (已报废 needs one)."""
    from registry.disposals.services import parse_disposal, record_disposal
    for item in notice.items:
        record_disposal(item.asset_id, maintainer, parse_disposal({
            "way": "报废拆解", "disposed_on": today().isoformat(), "receiver": "新郑市再生资源回收有限公司",
            "deregistration_no": f"ZX-{item.asset.code}"}))


def _snapshot(notice):
    db.session.refresh(notice)
    return (notice.status, notice.served_on, notice.served_recipient, notice.acknowledged_at, notice.completed_at,
            notice.completion_kind, notice.voided_at, len(notice.events),
            [i.asset.status for i in notice.items])


def test_signing_marks_assets_notified_with_history(people):
    notice = _issue(2)
    assert notice.status is NoticeStatus.ISSUED
    for item in notice.items:
        assert item.asset.status is LifecycleStatus.NOTIFIED
        change = db.session.scalar(sa.select(AssetChange).where(AssetChange.asset_id == item.asset_id))
        assert (change.field, change.before, change.after) == ("status", "在用", "已下达通知")
    for action in ("notice.draft", "notice.sign"):
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == action)) == 1
    assert [e.action for e in notice.events] == ["draft", "sign"]


def test_full_path_to_completion_by_scrap_certificate(people):
    notice = _issue(2)
    insp = people["inspector"]
    lifecycle.serve(notice, insp, today(), "王建国")
    assert notice.status is NoticeStatus.SERVED and notice.served_recipient == "王建国"
    lifecycle.acknowledge(notice, insp, "已签回执")
    assert notice.status is NoticeStatus.ACKNOWLEDGED
    with pytest.raises(ValidationFailed, match="不能设为已报废"):  # 已报废 needs a disposal record first
        lifecycle.complete(notice, insp, CompletionKind.SCRAP_CERTIFICATE, "BF-2025-0012")
    db.session.refresh(notice)
    assert notice.status is NoticeStatus.ACKNOWLEDGED and notice.completed_at is None
    _dispose(notice, people["maintainer"])
    lifecycle.complete(notice, insp, CompletionKind.SCRAP_CERTIFICATE, "BF-2025-0012")
    assert notice.status is NoticeStatus.COMPLETED
    assert all(i.asset.status is LifecycleStatus.SCRAPPED for i in notice.items)
    assert [e.action for e in notice.events] == ["draft", "sign", "serve", "acknowledge", "complete"]
    assert all(e.user_id == insp.id for e in notice.events[2:])
    assert notice.events[-1].details["reference"] == "BF-2025-0012"
    actions = set(db.session.scalars(sa.select(AuditRecord.action)))
    assert {"notice.draft", "notice.sign", "notice.serve", "notice.acknowledge", "notice.complete", "asset.update"} <= actions


def test_completion_by_replacement_links_new_asset_and_marks_old_renewed(people):
    notice = _issue(1)
    new = make_asset(Category.CONSTRUCTION_MACHINE)
    lifecycle.complete(notice, people["inspector"], "replacement", replacement_code=new.code)
    assert notice.replacement_asset_id == new.id
    assert notice.items[0].asset.status is LifecycleStatus.RENEWED
    change = db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == notice.items[0].asset_id)
                                .order_by(AssetChange.id)).all()[-1]
    assert (change.before, change.after) == ("已下达通知", "已更新")


@pytest.mark.parametrize("call, error", [
    (lambda n, p: lifecycle.complete(n, p["inspector"], None), ValidationFailed),
    (lambda n, p: lifecycle.complete(n, p["inspector"], "scrap_certificate", "  "), ValidationFailed),
    (lambda n, p: lifecycle.complete(n, p["inspector"], "replacement", replacement_code="NO-SUCH"), ValidationFailed),
    (lambda n, p: lifecycle.complete(n, p["inspector"], "replacement",
                                     replacement_code=n.items[0].asset_code), ValidationFailed),
    (lambda n, p: lifecycle.complete(n, p["inspector"], "replacement",
                                     replacement_code=make_asset(Category.OFFICIAL_CAR).code), ValidationFailed),
    (lambda n, p: lifecycle.complete(n, p["inspector"], "bogus", "x"), ValidationFailed),
    (lambda n, p: lifecycle.serve(n, p["inspector"], None, "王建国"), ValidationFailed),
    (lambda n, p: lifecycle.serve(n, p["inspector"], today() + timedelta(days=1), "王建国"), ValidationFailed),
    (lambda n, p: lifecycle.serve(n, p["inspector"], date(2000, 1, 1), "王建国"), ValidationFailed),
    (lambda n, p: lifecycle.serve(n, p["inspector"], today(), ""), ValidationFailed),
    (lambda n, p: lifecycle.serve(n, p["other"], today(), "王建国"), PermissionDenied),
    (lambda n, p: lifecycle.serve(n, p["maintainer"], today(), "王建国"), PermissionDenied),
    (lambda n, p: lifecycle.acknowledge(n, p["inspector"]), Conflict),  # not served yet
    (lambda n, p: lifecycle.void(n, p["maintainer"], ""), ValidationFailed),
    (lambda n, p: lifecycle.void(n, p["inspector"], "错发"), PermissionDenied),
])
def test_bad_transitions_are_refused_and_change_nothing(people, call, error):
    notice = _issue(1)
    before = _snapshot(notice)
    with pytest.raises(error):
        call(notice, people)
    db.session.rollback()
    assert _snapshot(notice) == before


def test_voided_notice_cannot_be_served_or_completed_and_frees_its_assets(people):
    notice = _issue(1)
    lifecycle.void(notice, people["maintainer"], "主送单位有误")
    assert notice.items[0].asset.status is LifecycleStatus.IN_USE
    before = _snapshot(notice)
    for call in (lambda: lifecycle.serve(notice, people["inspector"], today(), "王建国"),
                 lambda: lifecycle.complete(notice, people["inspector"], "scrap_certificate", "BF-1"),
                 lambda: lifecycle.void(notice, people["maintainer"], "再次作废")):
        with pytest.raises(Conflict) as err:
            call()
        assert "已作废" in err.value.message
        db.session.rollback()
    assert _snapshot(notice) == before
    # The asset may get a new notice once the old one is voided.
    [again] = issue_signed([item_for(notice.items[0].asset)], render=False)
    assert again.serial == notice.serial + 1


def test_overdue_sweep_marks_open_notices_past_deadline_once(people):
    late = _issue(1)
    late.deadline = today() - timedelta(days=1)
    on_time = _issue(1)
    done = _issue(1)
    done.deadline = today() - timedelta(days=1)
    db.session.commit()
    _dispose(done, people["maintainer"])
    lifecycle.complete(done, people["inspector"], "deregistration", "ZX-77")
    marked = lifecycle.mark_overdue()
    assert [n.id for n in marked] == [late.id]
    assert late.status is NoticeStatus.OVERDUE and on_time.status is NoticeStatus.ISSUED
    assert lifecycle.mark_overdue() == []
    assert [n.id for n in lifecycle.overdue_list()] == [late.id]
    # An overdue notice can still be served and completed.
    lifecycle.serve(late, people["inspector"], today(), "李梅")
    assert late.status is NoticeStatus.OVERDUE and late.served_on == today()
    _dispose(late, people["maintainer"])
    lifecycle.complete(late, people["inspector"], "scrap_certificate", "BF-9")
    assert late.status is NoticeStatus.COMPLETED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoticeEvent)
                             .where(NoticeEvent.action == "overdue")) == 1


def test_jobs_prerender_missing_files_and_monthly_reminder(people):
    from registry.notices import jobs
    from registry.notices.storage import notice_pdf_path
    notice = _issue(1)
    assert notice_pdf_path(notice) is None  # issued without rendering
    assert jobs.prerender_pending() == 1
    assert notice_pdf_path(notice).read_bytes().startswith(b"%PDF")
    assert jobs.prerender_pending() == 0
    notice.deadline = today() - timedelta(days=1)
    db.session.commit()
    assert [n.id for n in jobs.monthly_overdue_reminder()] == [notice.id]
