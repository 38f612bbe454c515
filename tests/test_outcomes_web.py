"""The progress dashboard's outcome sections, its exports, the 2023 baselines page and the JSON API."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from registry.disposals.models import Baseline
from registry import clock
from registry.extensions import db
from tests.outcome_helpers import build_world


# The 2027 cells of an export: blank while 2027 has not begun, a number afterwards.
LATER = None if clock.today().year < 2027 else 0


@pytest.fixture
def world(app, tmp_path):
    """The outcome world, built in its own application context."""
    with app.app_context():
        w = build_world(app, tmp_path / "disposals")
        return {"baselines": w["baselines"]}


def _baselines(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(Baseline.id, Baseline.value, Baseline.version, Baseline.note)
                                  .order_by(Baseline.id)).all()


def test_dashboard_shows_each_section_with_a_chart_beside_its_table(client, login_as, world):
    login_as("taskforce")
    html = client.get("/plans/progress").get_data(as_text=True)
    for words in ("设备投资规模较 2023 年增长 30% 以上", "报废汽车回收量较 2023 年增加 0.9 倍", "更新车辆新能源占比",
                  "分条款目标（按处置记录）", "机关事务中心 · 公务用车", "合计（全市）", "住建局 小计"):
        assert words in html, words
    assert html.count("<svg") >= 3 + 5  # two headlines, the share, and one per clause row
    assert html.count('class="chart-row"') == html.count('class="chart-box"')  # every chart has its table
    # 2025: 20.00 万元 for the cars, -20.0% against 250,000; target 32.50 万元.
    assert "20.00" in html and "-20.0%" in html and "32.50" in html
    assert ' style="' not in html and not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
    one = client.get("/plans/progress?department=zjj").get_data(as_text=True)
    assert "合计（住建局）" in one and "机关事务中心 · 公务用车" not in one
    bad = client.get("/plans/progress?department=nope")
    assert bad.status_code == 422 and "主管部门" in bad.get_data(as_text=True)


def test_a_maintainer_sees_only_its_department_whatever_it_asks(client, login_as, world):
    login_as("maintainer", "zjj")
    html = client.get("/plans/progress?department=jgsw").get_data(as_text=True)
    assert "住建局 · 建筑工程机械" in html and "机关事务中心 · 公务用车" not in html
    api = client.get("/api/v1/plans/outcomes?department=jgsw").get_json()
    assert api["department"] == "zjj"


def test_exports_from_the_dashboard(client, login_as, world):
    login_as("taskforce")
    resp = client.get("/plans/progress/export.xlsx?department=jgsw")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    rows = {r[0]: r for r in wb["设备投资"].iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {"机关事务中心 · 公务用车", "合计（机关事务中心）"}
    assert rows["机关事务中心 · 公务用车"][2:6] == (0, 200000, 150000.5, LATER)
    pdf = client.get("/plans/progress/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get("/plans/progress/export.xlsx?department=nope").status_code == 422


def test_baselines_page_enters_and_changes_with_versions(client, login_as, app, world):
    login_as("taskforce")
    page = client.get("/plans/baselines").get_data(as_text=True)
    assert "2023 年基数" in page and 'name="version" value="1"' in page
    ok = client.post("/plans/baselines", data={"measure": "investment", "department": "nync",
                                                "sector": "farm_machine", "year": "2023", "value": "1,500,000",
                                                "note": "农业农村局报送"})
    assert ok.status_code == 302
    assert _baselines(app)[-1][1:] == (1500000, 1, "农业农村局报送")
    before = _baselines(app)
    bad = client.post("/plans/baselines", data={"measure": "investment", "department": "wjw",
                                                 "sector": "medical_device", "year": "2023", "value": "-3"})
    assert bad.status_code == 422 and "不能为负数" in bad.get_data(as_text=True)
    absurd = client.post("/plans/baselines", data={"measure": "investment", "department": "wjw",
                                                    "sector": "medical_device", "year": "2023",
                                                    "value": "99999999999"})
    assert absurd.status_code == 422 and "超过 100 亿元" in absurd.get_data(as_text=True)
    assert _baselines(app) == before
    first = world["baselines"][0]
    assert client.post(f"/plans/baselines/{first}", data={"version": "1", "value": "260000"}).status_code == 302
    stale = client.post(f"/plans/baselines/{first}", data={"version": "1", "value": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    missing = client.post(f"/plans/baselines/{first}", data={"value": "1"})
    assert missing.status_code == 422 and "版本号" in missing.get_data(as_text=True)
    assert _baselines(app)[0][1:3] == (260000, 2)
    assert client.post("/plans/baselines/999999", data={"version": "1", "value": "1"}).status_code == 404


def test_only_the_task_force_enters_baselines(client, login_as, app, world):
    login_as("maintainer", "jgsw")
    page = client.get("/plans/baselines").get_data(as_text=True)
    assert "公务用车" in page and 'name="value"' not in page and "住建局" not in page
    before = _baselines(app)
    assert client.post(f"/plans/baselines/{world['baselines'][0]}",
                       data={"version": "1", "value": "5"}).status_code == 403
    assert client.post("/api/v1/plans/baselines", json={"measure": "investment", "department": "jgsw",
                                                         "sector": "official_car", "value": 5}).status_code == 403
    assert _baselines(app) == before


def test_baselines_api(client, login_as, app, world):
    login_as("taskforce")
    listed = client.get("/api/v1/plans/baselines").get_json()
    assert [(b["department"], b["measure"], b["sector"], b["value"]) for b in listed][:1] == \
        [("zjj", "investment", "construction_machine", 600000.0)]
    body = {"measure": "investment", "department": "wjw", "sector": "medical_device", "value": 2500000.5}
    created = client.post("/api/v1/plans/baselines", json=body)
    assert created.status_code == 201 and created.get_json()["version"] == 1
    assert client.post("/api/v1/plans/baselines", json=body).status_code == 409
    before = _baselines(app)
    for bad, field in (({**body, "value": -1}, "value"), ({**body, "value": "1e12"}, "value"),
                       ({**body, "year": 2022}, "year"), ({**body, "value": True}, "value"),
                       ({**body, "sector": "official_car"}, "sector")):
        resp = client.post("/api/v1/plans/baselines", json=bad)
        assert resp.status_code == 422 and field in resp.get_json()["errors"], (bad, resp.get_json())
    new_id = created.get_json()["id"]
    assert client.patch(f"/api/v1/plans/baselines/{new_id}", json={"value": 1}).status_code == 428
    assert client.patch(f"/api/v1/plans/baselines/{new_id}", json={"version": "1", "value": 1}).status_code == 422
    assert client.patch(f"/api/v1/plans/baselines/{new_id}", json={"version": 7, "value": 1}).status_code == 409
    assert client.patch(f"/api/v1/plans/baselines/{new_id}", json={"version": 1, "value": -1}).status_code == 422
    assert _baselines(app) == before
    ok = client.patch(f"/api/v1/plans/baselines/{new_id}", json={"version": 1, "value": 3000000})
    assert ok.status_code == 200 and (ok.get_json()["value"], ok.get_json()["version"]) == (3000000.0, 2)
    assert client.patch("/api/v1/plans/baselines/999999", json={"version": 1, "value": 1}).status_code == 404


def test_outcomes_api(client, login_as, world):
    login_as("taskforce")
    data = client.get("/api/v1/plans/outcomes").get_json()
    assert data["years"] == [2024, 2025, 2026, 2027] and data["department"] is None
    inv, cars = data["headlines"]
    assert (inv["measure"], inv["growth"], cars["growth"]) == ("investment", 0.3, 0.9)
    total = inv["rows"][-1]
    assert (total["kind"], total["baseline"], total["target"]) == ("total", 850000.0, 1105000.0)
    assert total["values"] == [0.0, 1000000.0, 150000.5, 0.0]
    assert cars["rows"][-1]["values"] == [0.0, 1.0, 1.0, 0.0]
    share = data["new_energy"][-1]
    assert (share["vehicles"], share["new_energy"]) == ([0, 1, 1, 0], [0, 1, 0, 0])
    car = next(c for c in data["clauses"] if c["category"] == "official_car")
    assert car["done"] == [0, 2, 1, 0]
    assert client.get("/api/v1/plans/outcomes?department=nope").status_code == 422
