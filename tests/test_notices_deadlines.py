"""Notices that hold up (#15): deadlines never before the notice, every finding strictest first, grouped citations.

Each test runs the real rules engine on the plan pack, then issues from its findings.
"""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from registry import create_app
from registry.enums import (Category, ConditionGrade, NonRoadEmissionStage, NoticeStatus, PipeFacilityType,
                            PipeNetwork, RuleOutcome, WearGrade)
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices.lifecycle import mark_overdue
from registry.notices.printing import render_notice
from tests.notice_factories import signed_from_findings
from registry.rules.models import Rule
from tests.factories import make_asset, make_unit, make_user

ISSUED = date(2026, 3, 2)  # after XZ-9a's fixed date, 2024-12-31


def _pdf_text(notice, tmp_path) -> str:
    path = tmp_path / f"{notice.id}.pdf"
    path.write_bytes(render_notice(notice))
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def _evaluate():
    from registry.rules.services import evaluate_inventory
    evaluate_inventory(ISSUED)


@pytest.fixture
def plan(ctx):
    """The plan rule pack, loaded."""
    from registry.rules.versions import seed_packs
    seed_packs(("plan",))


def _pipe(unit, **detail):
    return make_asset(Category.PIPE, owner=unit, name="供水管段DN300", commissioned_on=date(2011, 3, 1),
                      design_life_years=10, detail={"facility_type": PipeFacilityType.PIPE,
                                                    "network": PipeNetwork.WATER, **detail})


def _crane(unit, damaged=True):
    return make_asset(Category.CONSTRUCTION_MACHINE, owner=unit, name="塔式起重机（徐工）",
                      commissioned_on=date(2012, 3, 1), condition_grade=ConditionGrade.POOR,
                      detail={"emission_stage": NonRoadEmissionStage.STAGE_3, "wear_grade": WearGrade.SEVERE,
                              "main_part_damaged": damaged})


def test_passed_fixed_date_gives_a_deadline_after_the_notice_and_says_so(plan, tmp_path):
    pipe = _pipe(make_unit(name="新郑市自来水有限公司"))
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[pipe.id], as_of=ISSUED,
                                   issued_on=ISSUED)
    [item] = notice.items
    assert item.rule_code == "XZ-9a"
    # 90 days (REGISTRY_NOTICE_DEADLINE_DAYS) after the notice, the rule's own date kept as the reason.
    assert notice.deadline == item.deadline == ISSUED + timedelta(days=90) > ISSUED
    assert item.rule_deadline == date(2024, 12, 31)
    assert item.findings[0]["rule_deadline"] == "2024-12-31" and item.findings[0]["days"] == 90
    said = "方案规定的完成期限2024年12月31日已过，整改期限自本通知书发文之日起90日计算。请你单位于2026年5月31日前完成"
    assert said in notice.body
    flat = _pdf_text(notice, tmp_path)
    assert said in flat and "2024年12月31日前完成" not in flat


def test_overdue_follows_the_notice_deadline_not_the_rules_date(plan):
    pipe = _pipe(make_unit())
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[pipe.id], as_of=ISSUED,
                                   issued_on=ISSUED)
    [item] = notice.items
    assert mark_overdue(as_of=ISSUED + timedelta(days=1)) == []  # the rule's 2024 date has long passed
    assert notice.status is NoticeStatus.ISSUED and not item.is_overdue(ISSUED + timedelta(days=90))
    assert item.is_overdue(ISSUED + timedelta(days=91))
    assert mark_overdue(as_of=notice.deadline + timedelta(days=1)) == [notice]
    assert notice.status is NoticeStatus.OVERDUE


def test_late_deadline_days_is_a_rule_parameter(plan):
    from registry.rules.versions import save_new_version
    save_new_version("XZ-9a", {"deadline_policy": {"type": "fixed", "date": "2024-12-31", "late_days": 120}})
    pipe = _pipe(make_unit())
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[pipe.id], as_of=ISSUED,
                                   issued_on=ISSUED)
    assert notice.deadline == ISSUED + timedelta(days=120)
    assert "自本通知书发文之日起120日计算" in notice.body


def test_crane_with_both_8a_and_8b_cites_both_strictest_outcome_earliest_deadline(plan, tmp_path):
    crane = _crane(make_unit(name="新郑市龙湖镇建设投资有限公司"))
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[crane.id], as_of=ISSUED,
                                   issued_on=ISSUED)
    [item] = notice.items
    assert [f["rule_code"] for f in item.findings] == ["XZ-8a", "XZ-8b"]
    # 淘汰 is stricter than 强制更新; 8b's 90 days come before 8a's 2027-12-31.
    assert notice.outcome is item.outcome is RuleOutcome.PHASE_OUT and notice.title == "关于设备限期淘汰的通知书"
    assert [f["deadline"] for f in item.findings] == ["2027-12-31", (ISSUED + timedelta(days=90)).isoformat()]
    assert notice.deadline == item.deadline == ISSUED + timedelta(days=90) and item.rule_deadline is None
    flat = _pdf_text(notice, tmp_path)
    for expected in ("应予淘汰", "主要部件严重受损", "应予强制更新", "根据新政〔2024〕3号二（三）8的规定",
                     "请你单位于2026年5月31日前完成上述设备的淘汰、强制更新工作"):
        assert expected in flat, expected
    assert "2027年12月31日前完成" not in flat


def test_citations_are_grouped_by_document_on_a_multi_asset_notice(plan, tmp_path):
    unit = make_unit(name="新郑市城市建设发展有限公司")
    crane, pipe = _crane(unit, damaged=False), _pipe(unit)
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[crane.id, pipe.id], as_of=ISSUED,
                                   issued_on=ISSUED)
    assert "根据新政〔2024〕3号二（三）8、9的规定" in notice.body
    assert notice.body.count("新政〔2024〕3号") == 1
    # Different deadlines: the body names the earliest and sends the reader to the annex.
    assert "附件所列各设备整改期限（最早为2026年5月31日）" in notice.body
    assert "相关设备的整改期限自本通知书发文之日起90日计算" in notice.body
    flat = _pdf_text(notice, tmp_path)
    assert "原定2024年12月31日已过" in flat and crane.code in flat and pipe.code in flat


@pytest.mark.parametrize("late", [0, 3651, -5, "九十", True])
def test_late_deadline_days_out_of_range_is_refused(plan, late):
    from registry.rules.versions import save_new_version
    with pytest.raises(ValidationFailed) as err:
        save_new_version("XZ-9a", {"deadline_policy": {"type": "fixed", "date": "2024-12-31", "late_days": late}})
    assert "固定日期已过时的通知后天数必须是 1 到 3650 之间的整数" in str(err.value.errors)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.max(Rule.version)).where(Rule.code == "XZ-9a")) == 1


def test_rule_page_shows_and_edit_form_sets_late_days(app, client, login):
    from registry.rules.versions import seed_packs
    with app.app_context():
        seed_packs(("plan",))
    login("taskforce", None)
    page = client.get("/rules/XZ-9a").get_data(as_text=True)
    assert "2024-12-31 前；该日期已过时，通知书期限为发文后 90 日" in page and "（系统默认期限）" in page  # the setting is named in words, not by its variable
    with app.app_context():
        rule = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-9a", Rule.is_current.is_(True)))
        import json
        form = {"title": rule.title, "citation": rule.citation, "params": json.dumps(rule.params),
                "outcome": rule.outcome.value, "deadline_type": "fixed", "deadline_date": "2024-12-31",
                "enabled": "on", "verified": "on", "action": "save"}
    bad = client.post("/rules/XZ-9a/edit", data={**form, "deadline_late_days": "5000"})
    assert bad.status_code == 422 and "固定日期已过时的通知后天数必须是 1 到 3650 之间的整数" in bad.get_data(as_text=True)
    ok = client.post("/rules/XZ-9a/edit", data={**form, "deadline_late_days": "60"}, follow_redirects=True)
    assert ok.status_code == 200 and "通知书期限为发文后 60 日" in ok.get_data(as_text=True)


@pytest.mark.parametrize("days", [0, 3651])
def test_config_default_deadline_days_out_of_range_refuses_to_start(days, tmp_path):
    with pytest.raises(ValueError, match="REGISTRY_NOTICE_DEADLINE_DAYS 必须是 1 到 3650 之间的整数"):
        create_app({"NOTICE_DEADLINE_DAYS": days, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                    "SECRET_KEY": "x"})


def test_detail_page_and_api_show_every_finding_and_the_passed_rule_date(app, client, login):
    from registry.rules.versions import seed_packs
    with app.app_context():
        seed_packs(("plan",))
        unit = make_unit()
        crane_id, pipe_id = _crane(unit).id, _pipe(unit).id
        _evaluate()
        [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=[crane_id, pipe_id],
                                       as_of=ISSUED, issued_on=ISSUED, )
        notice_id = notice.id
    login("inspector", "zjj")
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "XZ-8a v1（淘汰）" in page and "XZ-8b v1（强制更新）" in page
    assert "规则期限 2024-12-31 发文时已过" in page
    items = {i["asset_id"]: i for i in client.get(f"/api/v1/notices/{notice_id}").get_json()["items"]}
    assert [f["rule_code"] for f in items[crane_id]["findings"]] == ["XZ-8a", "XZ-8b"]
    assert items[pipe_id]["rule_deadline"] == "2024-12-31" and items[crane_id]["rule_deadline"] is None


def _page_texts(notice, tmp_path) -> list[str]:
    from io import BytesIO
    from pypdf import PdfReader
    data = render_notice(notice)
    path = tmp_path / f"p{notice.id}.pdf"
    path.write_bytes(data)
    pages = len(PdfReader(BytesIO(data)).pages)
    return ["".join(subprocess.run(["pdftotext", "-raw", "-f", str(n), "-l", str(n), str(path), "-"],
                                   capture_output=True, text=True, check=True).stdout.split())
            for n in range(1, pages + 1)]


@pytest.mark.parametrize("n_assets", [1, 12])
def test_closing_block_never_stands_alone_and_codes_do_not_break(plan, tmp_path, n_assets):
    unit = make_unit(name="新郑市龙湖镇建设投资有限公司")
    ids = [make_asset(Category.CONSTRUCTION_MACHINE, owner=unit, code=f"XZ-JX-{9000001 + k}",
                      name="塔式起重机（徐工）", commissioned_on=date(2012, 3, 1),
                      detail={"emission_stage": NonRoadEmissionStage.STAGE_3, "wear_grade": WearGrade.SEVERE,
                              "main_part_damaged": True}).id for k in range(n_assets)]
    _evaluate()
    [notice] = signed_from_findings(make_user("maintainer", "zjj"), asset_ids=ids, as_of=ISSUED, issued_on=ISSUED)
    pages = _page_texts(notice, tmp_path)
    [closing] = [n for n, text in enumerate(pages) if "2026年3月2日" in text and "扫码核验真伪" in text]
    # The last body paragraph (the contact line) sits on the page of the signature, date and QR,
    # and nothing of the closing block spills onto another page.
    assert "联系方式" in pages[closing] and notice.number in pages[closing]
    assert all("扫码核验真伪" not in text for n, text in enumerate(pages) if n != closing)
    raw = subprocess.run(["pdftotext", "-raw", str(tmp_path / f"p{notice.id}.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert "XZ-JX-9000001" in raw  # pdftotext keeps line breaks: a code split across lines would fail here


def test_a_draft_signed_days_later_counts_its_deadline_from_the_signing_day(plan, tmp_path):
    from registry.notices.services import sign_notices
    from registry.notices.sources import draft_from_findings
    from tests.notice_factories import head_of
    pipe = _pipe(make_unit(name="新郑市自来水有限公司"))
    _evaluate()
    [draft] = draft_from_findings(make_user("maintainer", "zjj"), asset_ids=[pipe.id], as_of=ISSUED,
                                  issued_on=ISSUED)
    assert draft.deadline == ISSUED + timedelta(days=90) and "2026年5月31日" in draft.body
    signed_on = ISSUED + timedelta(days=10)  # the head signs ten days after the draft was made
    [notice] = sign_notices([draft.id], head_of(draft.department), issued_on=signed_on, render=False)
    [item] = notice.items
    assert notice.issued_on == signed_on
    assert notice.deadline == item.deadline == signed_on + timedelta(days=90)
    assert item.findings[0]["deadline"] == (signed_on + timedelta(days=90)).isoformat()
    assert item.rule_deadline == date(2024, 12, 31)
    said = "整改期限自本通知书发文之日起90日计算。请你单位于2026年6月10日前完成"
    assert said in notice.body and "2026年5月31日" not in notice.body
    assert said in _pdf_text(notice, tmp_path)
