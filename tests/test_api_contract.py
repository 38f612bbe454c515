"""Regressions the API fuzz test (tests/test_api_fuzz.py) found: each answer is documented, never a 500."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from registry import clock
from registry.extensions import db
from tests.fuzz_world import bearer as _as, restored_app, seeded, world  # noqa: F401  (fixtures)

HUGE = 10**30  # beyond any id column (and beyond SQLite's 64-bit integers)




def _plan(world, actor: str = "taskforce") -> int:
    return world.own[(actor, "plan")][0]  # the first seeded plan the actor may see is a draft


def test_timestamps_carry_their_utc_offset(app, client, world):
    asset_id = world.own[("inspector-zjj", "asset")][0]
    assessment = client.post(f"/api/v1/assets/{asset_id}/assessments", headers=_as(world, "inspector-zjj"),
                             json={"assessed_on": clock.today().isoformat(), "assessor": "李四", "grade": "poor"})
    assert assessment.status_code == 201, assessment.json
    asset = client.get(f"/api/v1/assets/{asset_id}", headers=_as(world, "inspector-zjj")).json
    plan = client.get(f"/api/v1/plans/{_plan(world)}", headers=_as(world, "taskforce")).json
    # SQLite hands stored UTC times back without an offset; the API must still send one (RFC 3339).
    for value in (assessment.json["created_at"], asset["updated_at"], plan["built_at"]):
        assert datetime.fromisoformat(value).utcoffset() is not None, value


def test_assessment_fields_of_the_wrong_type_get_422(client, world):
    asset_id = world.own[("inspector-zjj", "asset")][0]
    resp = client.post(f"/api/v1/assets/{asset_id}/assessments", headers=_as(world, "inspector-zjj"),
                       json={"assessed_on": clock.today().isoformat(), "assessor": ["李四"], "grade": {"a": 1},
                             "findings": 12})
    assert resp.status_code == 422
    assert resp.json["errors"]["assessor"] == ["评定人：应为文本"]
    assert resp.json["errors"]["findings"] == ["检查发现：应为文本"]
    assert "状况等级" in resp.json["errors"]["grade"][0]


@pytest.mark.parametrize("method, url, body, status", [
    ("get", "/api/v1/assets/99999999999999999999", None, 404),
    ("get", f"/api/v1/units?after={HUGE}", None, 422),
    ("get", f"/api/v1/findings?as_of=2025-01-01&offset={HUGE}", None, 422),
    ("get", f"/api/v1/plans/{{plan}}/placements?year={HUGE}", None, 422),
    ("post", "/api/v1/notices/print", {"ids": [HUGE]}, 422),
    ("post", "/api/v1/notices/issue", {"asset_ids": [HUGE]}, 422),
    ("post", "/api/v1/notices/issue", {"snapshot_id": HUGE}, 422),
    ("post", "/api/v1/plans/{plan}/pins", {"asset": str(HUGE), "year": 2026}, 422),
    ("post", "/api/v1/plans/{plan}/pins", {"asset": "9" * 5000, "year": 2026}, 422),
])
def test_numbers_beyond_the_id_range_are_refused_not_500(client, world, method, url, body, status):
    actor = "maintainer-zjj"
    resp = getattr(client, method)(url.format(plan=_plan(world, actor)), json=body, headers=_as(world, actor))
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.json["code"] == status


@pytest.mark.parametrize("method, url, body, headers", [
    ("post", "/api/v1/plans/{plan}/pins", {"asset": "²", "year": 2026}, {}),
    ("patch", "/api/v1/plans/targets/{target}", {"start_year": "²"}, {}),
    ("get", "/api/v1/assets?age_min=²", None, {}),
    ("patch", "/api/v1/assets/{asset}", {"name": "新名称"}, {"If-Match": "²"}),
])
def test_non_ascii_digits_are_refused_not_500(client, world, method, url, body, headers):
    # "²".isdigit() is true but int("²") raises: such values reached int() before.
    actor = "taskforce" if "targets" in url else "maintainer-zjj"
    url = url.format(plan=_plan(world, actor), target=world.ids["target"][0],
                     asset=world.own[("maintainer-zjj", "asset")][0])
    resp = getattr(client, method)(url, json=body, headers={**_as(world, actor), **headers})
    assert resp.status_code == 422, resp.get_data(as_text=True)


def test_export_by_unit_takes_non_ascii_digits_as_a_name(client, world):
    resp = client.get("/api/v1/assets/export?category=elevator&owner_unit=²", headers=_as(world, "taskforce"))
    assert resp.status_code == 200
    resp.close()


@pytest.mark.parametrize("url", ["/api/v1/notices/print", "/api/v1/plans/", "/api/v1/assets"])
def test_malformed_json_is_a_400_in_chinese(client, world, url):
    resp = client.post(url, data=b"\x00{", content_type="application/json", headers=_as(world, "maintainer-zjj"))
    assert resp.status_code == 400
    assert resp.json["errors"] == {"json": ["请求体不是有效的 JSON"]}


def test_validation_messages_are_chinese(client, world):
    resp = client.post("/api/v1/units", json={"name": 5, "township": "和庄镇", "phone": "1" * 40, "fax": "1"},
                       headers=_as(world, "maintainer-zjj"))
    assert resp.status_code == 422
    assert resp.json["errors"] == {"name": ["应为文本"], "phone": ["不能超过 32 个字符"], "fax": ["未知字段"]}
    resp = client.post(f"/api/v1/notices/{world.ids['notice'][0]}/serve", json={"recipient": ""},
                       headers=_as(world, "inspector-zjj"))
    assert resp.status_code == 422
    assert resp.json["errors"] == {"json": {"served_on": ["不能为空"], "recipient": ["长度应为 1–64 个字符"]}}


def test_every_operation_lists_its_answers(client, world):
    spec = client.get("/api/v1/openapi.json", headers=_as(world, "taskforce")).json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            assert "default" not in codes and {"401", "403"} <= codes, (method, path)
            assert ("404" in codes) == ("{" in path), (method, path)
            if "{" in path:  # the request gate refuses a control character in a path value with 422
                assert "422" in codes, (method, path)
    pdf = spec["paths"]["/api/v1/notices/{notice_id}/pdf"]["get"]["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]
    assert {"409", "412", "428"} <= set(spec["paths"]["/api/v1/assets/{asset_id}"]["patch"]["responses"])


def test_a_control_character_in_a_path_value_is_a_documented_422(client, world):
    resp = client.get("/api/v1/rules/%F0%94%BE%BE%C2%93%18%C3%AB", headers=_as(world, "taskforce"))
    assert resp.status_code == 422
    spec = client.get("/api/v1/openapi.json", headers=_as(world, "taskforce")).json
    assert "422" in spec["paths"]["/api/v1/rules/{code}"]["get"]["responses"]


def test_reading_findings_for_another_date_saves_nothing(app, client, world):
    from registry.planning.candidates import latest_evaluation
    from registry.rules.models import Evaluation
    from registry.rules.services import findings_source, result_from_row

    def state():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Evaluation)), latest_evaluation()

    before = state()
    # This GET used to save a whole-inventory evaluation dated 2100, which then was the newest evaluation
    # that plans and notices are built from.
    resp = client.get("/api/v1/findings?as_of=2100-12-31", headers=_as(world, "inspector-zjj"))
    assert resp.status_code == 200 and resp.json["evaluation_id"] is None and resp.json["total"] > 0
    assert state() == before
    with app.app_context():  # computed live, the saved evaluation's date gives exactly its saved findings
        evaluation_id, as_of = before[1]

        def rows(evaluation):
            found = findings_source(as_of, None, evaluation)
            return sorted((r.asset_id, r.rule_code, r.result, r.explanation, r.deadline, r.overdue, str(r.figures))
                          for r in map(result_from_row, db.session.execute(sa.select(found)).mappings()))
        assert rows(None) == rows(evaluation_id) and rows(None)


@pytest.mark.parametrize("issued_on", ["9999-12-31", "1899-12-31"])
def test_a_notice_cannot_be_dated_in_the_future_or_before_1900(app, client, world, issued_on):
    from registry.notices.models import Notice
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Notice))
    # 机关事务中心's voided notice freed its cars: they may get a new notice, but not one dated 9999 (文号〔9999〕1号).
    resp = client.post("/api/v1/notices/issue", json={"issued_on": issued_on}, headers=_as(world, "maintainer-jgsw"))
    assert resp.status_code == 422 and "issued_on" in resp.json["errors"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == before
    assert client.post("/api/v1/notices/issue", json={}, headers=_as(world, "maintainer-jgsw")).status_code == 201


@pytest.mark.parametrize("method, url, body, field", [
    ("post", "/api/v1/units", {"name": "锦绣\x00物业", "township": "和庄镇"}, "name"),
    ("get", "/api/v1/units?q=%00", None, "q"),
    ("get", "/api/v1/assets/export?category=elevator&township=%00", None, "township"),
    ("post", "/api/v1/plans/", {"year_from": 2025, "year_to": 2027, "name": "试点\x00计划"}, "name"),
    ("get", "/api/v1/rules/XZ-12%00", None, "code"),
])
def test_nul_characters_are_refused_on_both_databases(client, world, method, url, body, field):
    # PostgreSQL text cannot hold U+0000: each of these was a 500 there (and stored or ignored on SQLite).
    resp = getattr(client, method)(url, json=body, headers=_as(world, "taskforce" if "plans" in url or "rules" in url
                                                                else "maintainer-zjj"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.json["errors"] == {field: ["不能包含空字符（U+0000）"]}


def test_nul_characters_are_refused_on_web_forms_too(app, client, login):
    login("maintainer", "zjj")
    resp = client.get("/assets/c/elevator?township=%00")
    assert resp.status_code == 422 and "空字符" in resp.get_data(as_text=True)


def test_target_values_and_costs_beyond_their_columns_are_refused(app, client, world, login):
    # plan_targets.value is NUMERIC(12, 2): PostgreSQL refused 11,914,270,205 with a 500; SQLite stored it.
    resp = client.patch(f"/api/v1/plans/targets/{world.ids['target'][0]}", json={"value": 11914270205},
                        headers=_as(world, "taskforce"))
    assert resp.status_code == 422 and "9999999999.99" in resp.json["errors"]["value"][0]
    from registry.planning.models import ReplacementCost
    with app.app_context():
        cost_id = db.session.scalar(sa.select(ReplacementCost.id).limit(1))
    login("taskforce", None)
    resp = client.post(f"/plans/costs/{cost_id}", data={"unit_cost": str(10**19)})  # beyond BIGINT on both
    assert resp.status_code == 422 and "不能大于" in resp.get_data(as_text=True)
