"""The scheduled jobs drive the notices and planning modules end to end."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from registry.enums import Category, LifecycleStatus, NoticeStatus
from registry.extensions import db
from registry.jobs.services import run_job
from registry.notices.models import DocumentCounter, Notice
from registry.rules.versions import seed_packs
from registry.snapshots.models import Snapshot
from tests.factories import make_asset

WORN = {"emission_stage": "pre1", "wear_grade": "severe", "safety_hazard": False, "no_repair_value": False,
        "main_part_damaged": False}


def _two_assets_and_first_night():
    seed_packs(("plan",))
    old = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1),
                     manufactured_on=date(2010, 1, 1), design_life_years=10, detail=WORN)
    young = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2022, 3, 1), design_life_years=10,
                       detail={**WORN, "emission_stage": "stage4", "wear_grade": "light"})
    assert run_job("nightly-evaluation", "2025-03-01").status == "succeeded"
    assert run_job("notice-generation", "2025-03-01").status == "succeeded"
    return old, young


def test_notice_generation_drafts_for_new_mandatory_items_once_and_signs_nothing(ctx):
    old, young = _two_assets_and_first_night()
    snapshot = db.session.scalar(sa.select(Snapshot))
    notices = db.session.scalars(sa.select(Notice)).all()
    assert len(notices) == 1
    [notice] = notices
    assert notice.snapshot_id == snapshot.id and notice.status is NoticeStatus.DRAFT
    assert notice.number is None and notice.token is None and notice.drafted_by_id is None
    assert [i.asset_id for i in notice.items] == [old.id]
    # Nothing is 已下达 before a department head signs: the asset keeps its status, no number is taken.
    assert db.session.get(type(old), old.id).status is LifecycleStatus.IN_USE
    assert db.session.get(type(young), young.id).status is LifecycleStatus.IN_USE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentCounter)) == 0
    # a redo of the same period (or the next night with the same findings) drafts nothing twice
    assert run_job("notice-generation", "2025-03-02").status == "succeeded"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1


def test_a_draft_whose_findings_changed_is_superseded_and_drafted_again(ctx):
    old, _young = _two_assets_and_first_night()
    draft = db.session.scalar(sa.select(Notice))
    # As if the draft had been made under an older version of the rule: the findings now differ.
    for item in draft.items:
        item.findings = [{**f, "rule_version": f["rule_version"] + 100} for f in item.all_findings]
    db.session.commit()
    assert run_job("nightly-evaluation", "2025-03-02").status == "succeeded"
    assert run_job("notice-generation", "2025-03-02").status == "succeeded"
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Notice).order_by(Notice.id)).all()
    assert [n.status for n in rows] == [NoticeStatus.SUPERSEDED, NoticeStatus.DRAFT]
    assert rows[0].superseded_by_id == rows[1].id and [i.asset_id for i in rows[1].items] == [old.id]
    assert [e.action for e in rows[0].events] == ["draft", "supersede"]
    assert all(n.number is None for n in rows)


def test_a_draft_whose_asset_is_no_longer_mandatory_is_superseded_without_successor(ctx):
    from registry.db_types import utcnow
    old, _young = _two_assets_and_first_night()
    db.session.get(type(old), old.id).deleted_at = utcnow()
    db.session.commit()
    assert run_job("nightly-evaluation", "2025-03-02").status == "succeeded"
    assert run_job("notice-generation", "2025-03-02").status == "succeeded"
    db.session.expire_all()
    [row] = db.session.scalars(sa.select(Notice)).all()
    assert row.status is NoticeStatus.SUPERSEDED and row.superseded_by_id is None


def test_notices_cli_issues_from_a_snapshot(app, runner):
    with app.app_context():
        seed_packs(("plan",))
        make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1), design_life_years=10,
                   manufactured_on=date(2010, 1, 1), detail=WORN)
        assert run_job("nightly-evaluation", "2025-03-01").status == "succeeded"
        snapshot_id = db.session.scalar(sa.select(Snapshot.id))
    from tests.factories import make_user
    with app.app_context():
        make_user("maintainer", "zjj", username="issuer")
    result = runner.invoke(args=["registry", "notices", "issue", "--department", "zjj", "--user", "issuer",
                                 "--snapshot", str(snapshot_id)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["registry", "notices", "issue", "--department", "zjj", "--user", "issuer",
                                "--snapshot", str(snapshot_id)])
    assert again.exit_code != 0 and "没有需要出具通知书" in again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1


def test_yearly_planning_job_builds_one_draft_per_year(ctx):
    from registry.jobs.models import JobRun
    from registry.planning.models import Plan
    seed_packs(("plan",))
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1), design_life_years=10,
               manufactured_on=date(2010, 1, 1), detail=WORN)
    assert run_job("nightly-evaluation", "2025-01-01").status == "succeeded"
    outcome = run_job("yearly-planning-draft", "2025")
    assert outcome.status == "succeeded", db.session.scalars(sa.select(JobRun.error)).all()
    plans = db.session.scalars(sa.select(Plan)).all()
    assert len(plans) == 1 and plans[0].year_from == 2026
    assert run_job("yearly-planning-draft", "2025").status == "already-done"
