"""Drafts made from the rules engine's mandatory findings, then signed: API, CLI and the no-finding error."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, ConditionGrade, LifecycleStatus, NonRoadEmissionStage, NoticeStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices.models import DocumentCounter, Notice
from registry.notices.services import sign_notices
from registry.notices.sources import draft_from_findings
from registry.orgs.models import Department
from tests.factories import make_asset, make_unit, make_user
from tests.notice_factories import head_of

AS_OF = date(2025, 7, 16)


@pytest.fixture
def evaluated(ctx):
    """Plan rules loaded, three assets, one whole-inventory evaluation as of AS_OF."""
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs
    seed_packs(("plan",))
    unit = make_unit(name="新郑市龙湖镇建设投资有限公司", township="龙湖镇")
    old = make_asset(Category.CONSTRUCTION_MACHINE, owner=unit, commissioned_on=date(2012, 3, 1),
                     detail={"emission_stage": NonRoadEmissionStage.STAGE_3})
    young = make_asset(Category.CONSTRUCTION_MACHINE, owner=unit, commissioned_on=date(2022, 3, 1),
                       detail={"emission_stage": NonRoadEmissionStage.STAGE_4})
    car = make_asset(Category.OFFICIAL_CAR, owner=unit, registered_on=date(2014, 5, 1),
                     commissioned_on=date(2014, 5, 1), condition_grade=ConditionGrade.POOR)
    evaluate_inventory(AS_OF)
    return {"old": old, "young": young, "car": car}


def test_filter_draft_makes_one_draft_per_department_from_hits_and_signing_numbers_it(evaluated):
    maint = make_user("maintainer", "zjj")
    [draft] = draft_from_findings(maint, as_of=AS_OF, issued_on=AS_OF)
    [item] = draft.items
    assert item.asset_id == evaluated["old"].id and item.rule_code == "XZ-8a" and item.finding_id
    assert item.citation.endswith("二（三）8") and item.explanation
    assert draft.status is NoticeStatus.DRAFT and draft.number is None and draft.token is None
    assert evaluated["old"].status is LifecycleStatus.IN_USE  # nothing is 已下达 before signing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentCounter)) == 0
    [notice] = sign_notices([draft.id], head_of(draft.department), issued_on=AS_OF, render=False)
    assert notice.number == "新建更〔2025〕1号" and notice.title == "关于设备限期淘汰的通知书"
    assert notice.status is NoticeStatus.ISSUED and notice.token
    assert evaluated["old"].status is LifecycleStatus.NOTIFIED
    # The car belongs to 机关事务中心: its own numbering.
    jgsw = db.session.scalar(sa.select(Department).where(Department.code == "jgsw"))
    [car_draft] = draft_from_findings(None, department=jgsw, as_of=AS_OF, issued_on=AS_OF)
    [car_notice] = sign_notices([car_draft.id], head_of(jgsw), issued_on=AS_OF, render=False)
    assert car_notice.number == "新机更〔2025〕1号" and car_notice.items[0].rule_code == "XZ-12"
    # Running the same filter again finds nothing new and takes no number.
    with pytest.raises(ValidationFailed):
        draft_from_findings(maint, as_of=AS_OF, issued_on=AS_OF)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.sum(DocumentCounter.last_number))) == 2


def test_asset_without_mandatory_finding_is_refused_and_consumes_no_number(evaluated):
    maint = make_user("maintainer", "zjj")
    with pytest.raises(ValidationFailed) as err:
        draft_from_findings(maint, asset_ids=[evaluated["old"].id, evaluated["young"].id], issued_on=AS_OF)
    assert evaluated["young"].code in err.value.errors and "未占用文号" in err.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentCounter)) == 0


def test_snapshot_hook_answers_clearly(evaluated):
    with pytest.raises(ValidationFailed) as err:
        draft_from_findings(make_user("maintainer", "zjj"), snapshot_id=3)
    assert "快照" in err.value.message


def test_api_issue_by_asset_ids(app, client, login, evaluated):
    old_id, young_id = evaluated["old"].id, evaluated["young"].id
    login("maintainer", "zjj")
    bad = client.post("/api/v1/notices/issue", json={"asset_ids": [young_id]})
    assert bad.status_code == 422 and "没有强制" in str(bad.get_json())
    ok = client.post("/api/v1/notices/issue", json={"asset_ids": [old_id], "issued_on": "2025-07-16"})
    assert ok.status_code == 201, ok.get_json()
    assert [(n["number"], n["status"]) for n in ok.get_json()] == [(None, "draft")]
    draft_id = ok.get_json()[0]["id"]
    client.post("/logout")
    login("inspector", "zjj")
    assert client.post("/api/v1/notices/issue", json={"asset_ids": [old_id]}).status_code == 403
    client.post("/logout")
    login("dept_head", "zjj")
    signed = client.post("/api/v1/notices/sign", json={"ids": [draft_id], "issued_on": "2025-07-16"})
    assert signed.status_code == 200, signed.get_json()
    assert [(n["number"], n["status"]) for n in signed.get_json()] == [("新建更〔2025〕1号", "issued")]


def test_cli_issue_by_filter(app, runner, evaluated):
    result = runner.invoke(args=["registry", "notices", "issue", "--department", "zjj", "--as-of", "2025-07-16",
                                 "--issued-on", "2025-07-16", "--township", "龙湖镇"])
    assert result.exit_code == 0, result.output
    assert "拟稿#" in result.output and "共拟稿 1 份通知书" in result.output
    head = make_user("dept_head", "zjj", username="head-zjj")
    signed = runner.invoke(args=["registry", "notices", "sign", "--user", head.username, "--issued-on", "2025-07-16"])
    assert signed.exit_code == 0, signed.output
    assert "新建更〔2025〕1号" in signed.output and "共签发 1 份通知书" in signed.output
    again = runner.invoke(args=["registry", "notices", "issue", "--department", "zjj"])
    assert again.exit_code != 0 and "没有需要出具通知书" in again.output
    snap = runner.invoke(args=["registry", "notices", "issue", "--department", "zjj", "--snapshot", "5"])
    assert snap.exit_code != 0 and "快照" in snap.output


def test_html_issue_form(app, client, login, evaluated):
    login("maintainer", "zjj")
    assert "按最近一次评估的强制性结论拟稿" in client.get("/notices/").get_data(as_text=True)
    resp = client.post("/notices/issue", data={"township": "龙湖镇", "category": "construction_machine",
                                               "as_of": "2025-07-16"}, follow_redirects=True)
    assert "已拟稿 1 份通知书" in resp.get_data(as_text=True)
    again = client.post("/notices/issue", data={"as_of": "2025-07-16"}, follow_redirects=True)
    assert "没有需要出具通知书" in again.get_data(as_text=True)
    bad = client.post("/notices/issue", data={"as_of": "16.7.2025"}, follow_redirects=True)
    assert "不是有效日期" in bad.get_data(as_text=True)


def test_notices_from_a_snapshot_cite_its_own_evaluation_not_a_later_category_run(ctx):
    """Snapshot built from evaluation A; a category-only run B the same day finds otherwise; notices cite A."""
    from registry.notices.sources import draft_from_snapshot
    from registry.rules.models import Finding
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs
    from registry.snapshots.services import build_snapshot
    seed_packs(("plan",))
    old = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2012, 3, 1),
                     detail={"emission_stage": NonRoadEmissionStage.STAGE_3})
    snapshot, _ = build_snapshot("test:list", AS_OF)
    db.session.commit()

    def hit(evaluation_id):
        return db.session.scalar(sa.select(Finding).where(Finding.evaluation_id == evaluation_id,
                                                          Finding.asset_id == old.id, Finding.result == "hit"))

    a = hit(snapshot.evaluation_id)
    # The record is corrected after the list was written, and one category is re-evaluated that same day.
    old.commissioned_on = date(2011, 6, 1)
    db.session.commit()
    b_run = evaluate_inventory(AS_OF, category=Category.CONSTRUCTION_MACHINE)
    b = hit(b_run.id)
    assert b_run.as_of == snapshot.as_of and b_run.id > snapshot.evaluation_id
    assert a.explanation != b.explanation  # B's findings differ from the list's

    [notice] = draft_from_snapshot(make_user("maintainer", "zjj"), snapshot.id, issued_on=AS_OF)
    [item] = notice.items
    assert (item.finding_id, item.explanation, item.figures) == (a.id, a.explanation, a.figures)
    assert notice.snapshot_id == snapshot.id


def test_snapshot_without_an_evaluation_cannot_draft_notices(app, ctx):
    from registry.notices.sources import draft_from_snapshot
    from registry.snapshots.services import build_snapshot
    app.config["SNAPSHOT_SOURCE"] = "tests.fake_source:collect"
    make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2010, 3, 1))
    snapshot, _ = build_snapshot("test:fake", AS_OF)
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        draft_from_snapshot(make_user("maintainer", "zjj"), snapshot.id, issued_on=AS_OF)
    assert "规则评估" in err.value.message and "snapshot_id" in err.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
