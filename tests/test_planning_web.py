"""Planning pages and API: roles and department scoping, bad input answers, charts, exports."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from registry.enums import Category
from registry.extensions import db
from registry.planning.models import Plan, PlanPin
from registry.planning.reference import ensure_planning_reference
from tests.planning_helpers import source  # noqa: F401  (fixture)


@pytest.fixture
def flagged(app, source):
    """Two flagged official cars and one flagged pipe, with the reference targets."""
    with app.app_context():
        ensure_planning_reference()
        cars = [source.flag(overdue=4).code, source.flag(overdue=1).code]
        pipe = source.flag(Category.PIPE).code
    return {"cars": cars, "pipe": pipe}


def _create(client, **form):
    data = {"year_from": "2025", "year_to": "2027"}
    data.update(form)
    return client.post("/plans/", data=data)


def test_taskforce_builds_views_and_exports_a_plan(client, login, app, flagged):
    login("taskforce", None)
    resp = _create(client, **{"quota-official_car-2025": "1", "budget-2026": "500000"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "列入2025年：强制更新，已逾期 4 个月" in html
    assert "更新公务用车 40 辆" in html
    assert ' style="' not in html
    plan_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    unplaced = client.get(f"/plans/{plan_id}?view=unplaced").get_data(as_text=True)
    assert "未能列入" in unplaced

    xlsx = client.get(f"/plans/{plan_id}/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert wb.sheetnames == ["汇总", "计划明细", "未能列入", "目标缺口"]
    rows = list(wb["计划明细"].iter_rows(values_only=True))
    assert rows[0][0] == "优先序" and len(rows) == 1 + 3
    pdf = client.get(f"/plans/{plan_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_form_input_answers_422_with_field_messages_and_saves_nothing(client, login, app, flagged):
    login("taskforce", None)
    resp = _create(client, year_from="2027", year_to="2025")
    assert resp.status_code == 422
    assert "年度范围颠倒" in resp.get_data(as_text=True)
    resp = _create(client, **{"quota-official_car-2025": "-3"})
    assert resp.status_code == 422
    assert "公务用车 2025 年配额不能小于 0" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_pin_through_page_and_unflagged_rejected(client, login, app, flagged):
    login("taskforce", None)
    plan_url = _create(client).headers["Location"]
    plan_id = int(plan_url.rsplit("/", 1)[1])
    ok = client.post(f"/plans/{plan_id}/pins", data={"asset": flagged["cars"][1], "year": "2027"})
    assert ok.status_code == 302
    with app.app_context():
        from tests.factories import make_asset
        other = make_asset(Category.OFFICIAL_CAR).code
    bad = client.post(f"/plans/{plan_id}/pins", data={"asset": other, "year": "2026"})
    assert bad.status_code == 422 and "没有需更新的发现" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanPin)) == 1


def test_maintainer_proposes_for_own_department_only(client, login, app, flagged):
    login("maintainer", "jgsw")
    resp = _create(client, department="zjj")
    assert resp.status_code == 403
    resp = _create(client)
    assert resp.status_code == 302
    with app.app_context():
        plan = db.session.scalar(sa.select(Plan))
        assert plan.department.code == "jgsw"
        plan_id = plan.id
    assert client.post(f"/plans/{plan_id}/transition", data={"action": "submit"}).status_code == 302
    assert client.post(f"/plans/{plan_id}/transition", data={"action": "approve"}).status_code == 403
    assert client.post(f"/plans/{plan_id}/revise").status_code == 403


def test_other_department_cannot_read_plan(client, login, app, flagged):
    login("taskforce", None, username="tf1")
    plan_url = _create(client, department="jgsw").headers["Location"]
    client.post("/logout")
    login("maintainer", "zjj")
    assert client.get(plan_url).status_code == 403
    assert client.get("/api/v1/plans/").get_json() == []


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor"])
def test_non_business_roles_see_no_plans(client, login, role):
    login(role, None)
    assert client.get("/plans/").status_code == 403
    assert client.get("/api/v1/plans/").status_code == 403
    assert client.get("/plans/progress").status_code == 403


def test_api_create_bad_and_good(client, login, flagged):
    login("taskforce", None)
    bad = client.post("/api/v1/plans/", json={"year_from": 2025, "year_to": 2029})
    assert bad.status_code == 422
    body = bad.get_json()
    assert "超出方案期限" in body["errors"]["year_to"][0]
    bad = client.post("/api/v1/plans/", json={"year_from": 2025, "year_to": 2027, "budgets": {"2025": "x"}})
    assert bad.status_code == 422 and "budgets.2025" in bad.get_json()["errors"]
    ok = client.post("/api/v1/plans/", json={"year_from": 2025, "year_to": 2027,
                                             "quotas": {"official_car": {"2025": 1}}})
    assert ok.status_code == 201, ok.get_json()
    plan = ok.get_json()
    assert plan["status"] == "draft" and plan["summary"]["placed"] == 3
    items = client.get(f"/api/v1/plans/{plan['id']}/placements?year=2025").get_json()
    assert items["total"] == 2 and items["items"][0]["explanation"].startswith("列入2025年")
    pin = client.post(f"/api/v1/plans/{plan['id']}/pins", json={"asset": "NOPE", "year": 2025})
    assert pin.status_code == 422
    step = client.post(f"/api/v1/plans/{plan['id']}/transitions", json={"action": "approve"})
    assert step.status_code == 409
    assert client.get("/api/v1/plans/targets").status_code == 200
    assert client.patch("/api/v1/plans/targets/1", json={"value": "-1"}).status_code == 422


def test_progress_dashboard_svg_with_tables(client, login, app, flagged):
    login("taskforce", None)
    plan_url = _create(client).headers["Location"]
    plan_id = int(plan_url.rsplit("/", 1)[1])
    assert client.post(f"/plans/{plan_id}/transition", data={"action": "submit"}).status_code == 302
    own = client.post(f"/plans/{plan_id}/transition", data={"action": "approve"})
    assert own.status_code == 403 and "上报人不能审批" in own.get_data(as_text=True)  # four eyes
    login("taskforce", None)  # a second member of the task force approves and locks
    for step in ("approve", "lock"):
        assert client.post(f"/plans/{plan_id}/transition", data={"action": step}).status_code == 302
    html = client.get("/plans/progress").get_data(as_text=True)
    assert html.count("<svg") >= 3 and "目标 40" in html
    # The CSP allows no inline style or script: only static files (the menu's nav.js) may be loaded.
    assert ' style="' not in html and not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
    assert re.search(r"机关事务中心 · 公务用车", html)
    evidence = client.get("/plans/progress/evidence?series=planned&department=2&category=official_car")
    assert flagged["cars"][0] in evidence.get_data(as_text=True)
    api = client.get("/api/v1/plans/progress").get_json()
    car = next(r for r in api if r["category"] == "official_car")
    assert car["target"] == 40 and car["planned"] == [0, 2, 0, 0]
    assert client.get("/plans/progress/evidence?series=bogus&category=pipe").status_code == 422


def test_targets_page_edit_by_taskforce_only(client, login, app, flagged):
    login("maintainer", "jgsw")
    assert client.get("/plans/targets").status_code == 200
    assert client.post("/plans/targets/1", data={"value": "50"}).status_code == 403


def test_new_plan_form_starts_at_the_current_year(client, login, flagged):
    import time_machine
    # 2026-12-31 23:30 Beijing time is still 2026; the quota columns of past years are not offered.
    with time_machine.travel("2026-12-31T15:30:00+00:00", tick=False):
        login("taskforce", None)
        html = client.get("/plans/").get_data(as_text=True)
    assert 'name="year_from" value="2026"' in html and 'name="year_to" value="2027"' in html
    assert "quota-official_car-2026" in html and "quota-official_car-2025" not in html
    assert "2024年" not in html.split("年度配额", 1)[1]
    # 00:30 Beijing time on 1 January 2027 is still 2026 on the server, but the user's year is 2027.
    with time_machine.travel("2026-12-31T16:30:00+00:00", tick=False):
        login("taskforce", None)
        html = client.get("/plans/").get_data(as_text=True)
    assert 'name="year_from" value="2027"' in html and "quota-official_car-2026" not in html
