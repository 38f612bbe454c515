"""Asset status changes by workflow go through one function, registry.assets.services.change_status."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from registry.assets import services as assets
from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.clock import today
from registry.enums import Category, LifecycleStatus, NoticeStatus
from registry.errors import Conflict
from registry.extensions import db
from registry.notices import lifecycle
from tests.notice_factories import issue_signed as issue_notices
from registry.planning import services as plans
from registry.planning import workflow
from registry.planning.reference import ensure_planning_reference
from tests.factories import make_asset, make_user
from tests.notice_factories import flagged_assets
from tests.planning_helpers import source  # noqa: F401  (fixture)


def _status_rows(asset_id: int) -> list[AssetChange]:
    return list(db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == asset_id,
                                                                AssetChange.field == "status")
                                   .order_by(AssetChange.id)))


def _shape(row: AssetChange) -> tuple:
    """What every status history row carries: field, readable before and after, who, when."""
    return (row.field, row.before, row.after, row.user_id is not None, isinstance(row.changed_at, datetime))


def _status_audits() -> list[dict]:
    return [json.loads(d) for d in db.session.scalars(sa.select(AuditRecord.details).where(
        AuditRecord.action == "asset.update").order_by(AuditRecord.id))]


def test_a_notice_and_a_plan_write_the_same_shape_of_history(ctx, source):
    ensure_planning_reference()
    maintainer, taskforce = make_user("maintainer", "zjj"), make_user("taskforce", None)
    approver = make_user("taskforce", None)  # the submitter may not approve (four eyes)
    [item] = flagged_assets(1)
    notified = item.asset
    planned = source.flag()
    versions = {a.id: a.version for a in (notified, planned)}

    [notice] = issue_notices([item], maintainer, issued_on=today() - timedelta(days=1), render=False)
    plan = plans.create_plan(year_from=2025, year_to=2026, quotas={"official_car": {"2025": 1}}, user=taskforce)
    workflow.transition(plan.id, "submit", user=taskforce)
    for step in ("approve", "lock"):
        workflow.transition(plan.id, step, user=approver)
    db.session.expire_all()

    [by_notice], [by_plan] = _status_rows(notified.id), _status_rows(planned.id)
    assert _shape(by_notice) == ("status", "在用", "已下达通知", True, True)
    assert _shape(by_plan) == ("status", "在用", "已列入更新计划", True, True)
    # The status changes when the department head signs (drafts change nothing): the signer is recorded.
    assert notice.issued_by_id not in (None, maintainer.id)
    assert (by_notice.action, by_notice.user_id) == ("notice", notice.issued_by_id)
    assert (by_plan.action, by_plan.user_id) == ("plan", approver.id)
    for asset_id, status in ((notified.id, LifecycleStatus.NOTIFIED), (planned.id, LifecycleStatus.PLANNED)):
        asset = db.session.get(Asset, asset_id)
        assert asset.status is status and asset.version == versions[asset_id] + 1
    # One audit record per change, the same keys for both sources.
    notice_audit, plan_audit = _status_audits()
    assert set(notice_audit) == set(plan_audit) == {"field", "source", "reason", "count", "before", "after"}
    assert (notice_audit["source"], notice_audit["count"], notice_audit["after"]) == \
        ("notice", 1, {"status": "已下达通知"})
    assert notice.number in notice_audit["reason"]
    assert (plan_audit["source"], plan_audit["count"], plan_audit["before"]) == ("plan", 1, {"status": ["在用"]})


def test_change_status_skips_deleted_unchanged_and_unlisted_statuses(ctx):
    user = make_user("maintainer", "zjj")
    moving = make_asset(Category.ELEVATOR)
    idle = make_asset(Category.ELEVATOR, status=LifecycleStatus.IDLE)
    already = make_asset(Category.ELEVATOR, status=LifecycleStatus.PLANNED)
    deleted = make_asset(Category.ELEVATOR, deleted_at=datetime(2025, 1, 1))
    ids = [moving.id, idle.id, already.id, deleted.id]
    moved = assets.change_status(ids, LifecycleStatus.PLANNED, user, source="plan", reason="测试",
                                 only_from=(LifecycleStatus.IN_USE,))
    db.session.commit()
    assert moved == 1
    # The asset loaded in this session sees its new status and version without a reload.
    assert (moving.status, moving.version) == (LifecycleStatus.PLANNED, 2)
    assert [len(_status_rows(i)) for i in ids] == [1, 0, 0, 0]
    assert {a.id: a.status for a in (idle, already, deleted)} == {
        idle.id: LifecycleStatus.IDLE, already.id: LifecycleStatus.PLANNED, deleted.id: LifecycleStatus.IN_USE}
    assert assets.change_status(ids, LifecycleStatus.PLANNED, user, source="plan", reason="再次") == 1  # idle
    assert assets.change_status([], LifecycleStatus.PLANNED, user, source="plan", reason="无") == 0
    with pytest.raises(ValueError):
        assets.change_status(ids, LifecycleStatus.IN_USE, user, source="form", reason="未知来源")


def test_an_edit_form_opened_before_a_status_change_is_refused(ctx):
    user = make_user("maintainer", "zjj")
    asset = make_asset(Category.ELEVATOR)
    opened_at = asset.version
    assets.change_status([asset.id], LifecycleStatus.NOTIFIED, user, source="notice", reason="通知书 测试")
    db.session.commit()
    with pytest.raises(Conflict):
        assets.update_asset(asset.id, {"name": "改名"}, user, expected_version=opened_at)


def test_voiding_returns_only_notified_assets_to_in_use(ctx):
    maintainer = make_user("maintainer", "zjj")
    [notice] = issue_notices(flagged_assets(2), maintainer, issued_on=today() - timedelta(days=1), render=False)
    kept, freed = (i.asset for i in notice.items)
    # One asset was meanwhile planned by hand: voiding the notice must not put it back in use.
    assets.change_status([kept.id], LifecycleStatus.PLANNED, None, source="plan", reason="测试")
    db.session.commit()
    lifecycle.void(notice, maintainer, "主送单位有误")
    assert notice.status is NoticeStatus.VOIDED
    assert (kept.status, freed.status) == (LifecycleStatus.PLANNED, LifecycleStatus.IN_USE)
    assert [r.after for r in _status_rows(freed.id)] == ["已下达通知", "在用"]
