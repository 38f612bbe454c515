"""Rule pages, the asset findings block and the rules API: roles, scoping, edit with preview."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, ConditionGrade
from registry.extensions import db
from registry.rules.models import Rule
from registry.rules.versions import seed_packs
from tests.factories import make_asset


@pytest.fixture
def seeded(app):
    with app.app_context():
        seed_packs()
    return app


@pytest.mark.parametrize("role,department,status", [
    ("taskforce", None, 200), ("maintainer", "zjj", 200), ("inspector", "zjj", 200),
    ("sysadmin", None, 403), ("auditor", None, 403), ("secadmin", None, 403),
])
def test_rules_list_readable_by_business_roles_only(client, login, seeded, role, department, status):
    login(role, department)
    resp = client.get("/rules/")
    assert resp.status_code == status
    if status == 200:
        text = resp.get_data(as_text=True)
        assert "新政〔2024〕3号 二（四）12" in text and "XZ-12" in text and "未核实" in text


def test_rule_detail_shows_params_reading_and_versions(client, login, seeded):
    login("inspector", "zjj")
    text = client.get("/rules/XZ-12").get_data(as_text=True)
    assert "民法典第一千二百五十九条" in text
    assert "&#34;years&#34;: 8" in text  # the parameters, HTML-escaped inside <pre>
    assert client.get("/rules/NOPE").status_code == 404


@pytest.mark.parametrize("role,department", [("maintainer", "jgsw"), ("inspector", "zjj")])
def test_only_taskforce_edits_rules(client, login, seeded, role, department):
    login(role, department)
    assert client.get("/rules/XZ-12/edit").status_code == 403
    assert client.post("/rules/XZ-12/edit", data={"action": "save"}).status_code == 403


def _form(**overrides):
    data = {"title": "使用8年以上且车况较差的老旧公务用车更新淘汰", "citation": "新政〔2024〕3号 二（四）12",
            "params": '{"years": 8, "reading": "at_least", "date_field": "age_start", "grade": "poor"}',
            "outcome": "mandatory_renewal", "deadline_type": "fixed", "deadline_date": "2027-12-31",
            "enabled": "on", "verified": "on", "as_of": "2024-06-01"}
    data.update(overrides)
    return data


def test_edit_preview_then_save_new_version(client, login, app, seeded):
    with app.app_context():
        make_asset(Category.OFFICIAL_CAR, code="GC-7Y", registered_on=date(2017, 3, 1),
                   condition_grade=ConditionGrade.POOR)
        make_asset(Category.OFFICIAL_CAR, code="GC-9Y", registered_on=date(2015, 3, 1),
                   condition_grade=ConditionGrade.POOR)
    login("taskforce", None)
    params = '{"years": 7, "reading": "at_least", "date_field": "age_start", "grade": "poor"}'
    resp = client.post("/rules/XZ-12/edit", data=_form(params=params, action="preview"))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "新增命中 <b>1</b>" in text and "GC-7Y" in text and "机关事务中心" in text
    with app.app_context():  # preview saved nothing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Rule).where(Rule.code == "XZ-12")) == 1
    resp = client.post("/rules/XZ-12/edit", data=_form(params=params, action="save"))
    assert resp.status_code == 302
    with app.app_context():
        current = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-12", Rule.is_current.is_(True)))
        assert current.version == 2 and current.params["years"] == 7


@pytest.mark.parametrize("overrides,message", [
    ({"params": '{"years": -1, "reading": "at_least", "date_field": "age_start", "grade": "poor"}'}, "1 到 100"),
    ({"params": "{not json"}, "不是有效的 JSON"),
    ({"effective_from": "2025-01-01", "effective_to": "2024-01-01"}, "早于生效日期"),
    ({"params": '{"years": 8, "reading": "at_least", "date_field": "age_start", "grade": "awful"}'}, "状况等级必须是"),
])
def test_bad_edit_is_rejected_in_chinese_and_nothing_saved(client, login, app, seeded, overrides, message):
    login("taskforce", None)
    resp = client.post("/rules/XZ-12/edit", data=_form(action="save", **overrides))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Rule).where(Rule.code == "XZ-12")) == 1


@pytest.mark.parametrize("overrides,message", [
    ({"deadline_type": "days_after_notice", "deadline_days": "9" * 5000}, "1 到 3650 之间的整数"),
    ({"deadline_type": "days_after_notice", "deadline_days": "１２０"}, "1 到 3650 之间的整数"),  # full-width digits
    ({"deadline_type": "days_after_notice", "deadline_days": "-30"}, "1 到 3650 之间的整数"),
    ({"deadline_type": "days_after_notice", "deadline_days": "²"}, "1 到 3650 之间的整数"),  # isdigit() but not int()
    ({"params": '{"years": ' + "9" * 5000 + "}"}, "数字过长或嵌套过深"),
    ({"params": "[" * 100_000}, "数字过长或嵌套过深"),
])
def test_huge_or_odd_numbers_in_the_rule_form_are_a_422_not_a_500(client, login, app, seeded, overrides, message):
    login("taskforce", None)
    resp = client.post("/rules/XZ-12/edit", data=_form(action="save", **overrides))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Rule).where(Rule.code == "XZ-12")) == 1


def test_a_short_day_count_is_saved(client, login, app, seeded):
    login("taskforce", None)
    resp = client.post("/rules/XZ-12/edit", data=_form(action="save", deadline_type="days_after_notice",
                                                        deadline_days="120"))
    assert resp.status_code == 302
    with app.app_context():
        current = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-12", Rule.is_current.is_(True)))
        assert current.deadline_policy == {"type": "days_after_notice", "days": 120}


def test_asset_findings_page_is_scoped(client, login, app, seeded):
    with app.app_context():
        car = make_asset(Category.OFFICIAL_CAR, registered_on=date(2010, 1, 1), condition_grade=ConditionGrade.BAD)
        car_id = car.id
    login("maintainer", "jgsw")
    text = client.get(f"/rules/asset/{car_id}?as_of=2024-06-01").get_data(as_text=True)
    assert "XZ-12" in text and "状况等级为差" in text and "2027-12-31" in text
    client.post("/logout")
    login("maintainer", "zjj")
    assert client.get(f"/rules/asset/{car_id}").status_code == 404


def test_api_rules_and_findings_scoped(client, login, app, seeded):
    with app.app_context():
        make_asset(Category.OFFICIAL_CAR, code="GC-OLD", registered_on=date(2010, 1, 1),
                   condition_grade=ConditionGrade.BAD)
        make_asset(Category.CONSTRUCTION_MACHINE, code="JX-OLD", commissioned_on=date(2010, 1, 1),
                   design_life_years=30, detail={"emission_stage": "stage4", "wear_grade": "light",
                                                 "safety_hazard": False, "no_repair_value": False,
                                                 "main_part_damaged": False})
    login("maintainer", "jgsw")
    rules = client.get("/api/v1/rules").get_json()
    assert {"XZ-12", "GB-TC-1"} <= {r["code"] for r in rules}
    one = client.get("/api/v1/rules/XZ-12").get_json()
    assert one["citation"] == "新政〔2024〕3号 二（四）12" and one["versions"][0]["version"] == 1
    body = client.get("/api/v1/findings?as_of=2024-06-01").get_json()
    assert [(f["asset_code"], f["rule_code"]) for f in body["findings"]] == [("GC-OLD", "XZ-12")]  # not JX-OLD
    assert body["findings"][0]["deadline"] == "2027-12-31" and body["rule_versions"]["XZ-12"] == 1
    assert client.get("/api/v1/findings?as_of=2024-13-01").status_code == 422
    assert client.get("/api/v1/findings").status_code == 422
    client.post("/logout")
    login("taskforce", None)
    codes = {f["asset_code"] for f in client.get("/api/v1/findings?as_of=2024-06-01").get_json()["findings"]}
    assert codes == {"GC-OLD", "JX-OLD"}
    client.post("/logout")
    login("auditor", None)
    assert client.get("/api/v1/rules").status_code == 403
