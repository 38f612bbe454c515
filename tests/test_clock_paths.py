"""Every date-bearing path uses the Beijing day, on a UTC machine, at both edges of that day.

Each test runs twice with the clock frozen: at 00:30 Beijing time on 2 December (16:30 UTC on
1 December, when the machine's own date is still yesterday) and at 23:30 (15:30 UTC on 2 December).
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine

from registry import clock
from registry.assets.models import Asset
from registry.audit import services as audit
from registry.enums import Category, ConditionGrade
from registry.errors import ValidationFailed
from registry.extensions import db
from tests.factories import make_asset, make_user

LOCAL_DAY = date(2026, 12, 2)
TOMORROW = LOCAL_DAY + timedelta(days=1)
EDGES = {
    "00:30": datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc),
    "23:30": datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc),
}


@pytest.fixture(autouse=True, params=list(EDGES), ids=list(EDGES))
def edge(request):
    """Freeze the clock (ticking from there) at one edge of the Beijing day; return 'HH:MM'."""
    with time_machine.travel(EDGES[request.param], tick=True):
        assert clock.today() == LOCAL_DAY
        yield request.param


def _hhmm(edge: str) -> str:
    return edge.replace(":", "")


def _car_form(**over) -> dict:
    data = {"code": "XZ-GC-1", "name": "公务车", "owner_unit": "新郑市机关事务服务中心", "township": "新华路街道",
            "registered_on": LOCAL_DAY.isoformat(), "plate_number": "豫A12345", "use_class": "general",
            "status": "in_use"}
    data.update(over)
    return data


def test_asset_form_takes_the_local_today_and_refuses_tomorrow(client, app, login, edge):
    login("maintainer", "jgsw")
    bad = client.post("/assets/c/official_car/new", data=_car_form(registered_on=TOMORROW.isoformat()))
    assert bad.status_code == 422
    assert f"登记日期：「{TOMORROW}」晚于今天" in bad.get_data(as_text=True)
    assert client.post("/assets/c/official_car/new", data=_car_form()).status_code == 302
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.code == "XZ-GC-1"))
        asset_id = asset.id
        assert asset.registered_on == LOCAL_DAY
    html = client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    form = {m.group(1): m.group(2) for m in re.finditer(r'<input id="f-(\w+)" name="\w+" value="([^"]*)"', html)}
    form.update(version="1", use_class="general", status="in_use", commissioned_on=TOMORROW.isoformat())
    bad = client.post(f"/assets/{asset_id}/edit", data=form)
    assert bad.status_code == 422 and f"投入使用日期：「{TOMORROW}」晚于今天" in bad.get_data(as_text=True)
    form.update(commissioned_on=LOCAL_DAY.isoformat())
    assert client.post(f"/assets/{asset_id}/edit", data=form).status_code == 302
    # The history shows the local time of the change, on the local day.
    assert f"{LOCAL_DAY} {edge}" in client.get(f"/assets/{asset_id}").get_data(as_text=True)


def test_asset_api_takes_the_local_today_and_refuses_tomorrow(client, app, login):
    login("maintainer", "zjj")
    body = {"category": "pipe", "code": "XZ-GD-1", "name": "人民路供水管", "owner_unit": "新郑华润水务有限公司",
            "township": "新建路街道", "commissioned_on": TOMORROW.isoformat(),
            "detail": {"facility_type": "pipe", "network": "water"}}
    bad = client.post("/api/v1/assets", json=body)
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["commissioned_on"] == [f"投入使用日期：「{TOMORROW}」晚于今天，不能填写未来日期"]
    resp = client.post("/api/v1/assets", json={**body, "commissioned_on": LOCAL_DAY.isoformat()})
    assert resp.status_code == 201, resp.get_json()
    asset_id = resp.get_json()["id"]
    bad = client.patch(f"/api/v1/assets/{asset_id}", json={"version": 1, "manufactured_on": TOMORROW.isoformat()})
    assert bad.status_code == 422 and "晚于今天" in bad.get_json()["errors"]["manufactured_on"][0]
    ok = client.patch(f"/api/v1/assets/{asset_id}", json={"version": 1, "manufactured_on": LOCAL_DAY.isoformat()})
    assert ok.status_code == 200, ok.get_json()


def test_import_cells_take_the_local_today(ctx):
    from registry.assets.fields import FieldError, compile_parser, fields_for, parse_date
    assert parse_date(LOCAL_DAY.isoformat()) == (LOCAL_DAY, None)
    with pytest.raises(FieldError, match="晚于今天"):
        parse_date(TOMORROW.isoformat())
    spec = next(s for s in fields_for(Category.ELEVATOR) if s.name == "commissioned_on")
    assert compile_parser(spec)(f"{LOCAL_DAY:%Y/%m/%d}")[0] == LOCAL_DAY
    with pytest.raises(FieldError):
        compile_parser(spec)(TOMORROW)


def test_condition_assessment_on_the_local_day(client, app, login):
    inspector_id = login("inspector", "zjj")
    with app.app_context():
        asset_id = make_asset(Category.ELEVATOR).id
    form = client.get(f"/assets/{asset_id}/assess").get_data(as_text=True)
    assert f'value="{LOCAL_DAY}"' in form  # the form's default date is the local today
    bad = client.post(f"/api/v1/assets/{asset_id}/assessments",
                      json={"assessed_on": TOMORROW.isoformat(), "assessor": "李四", "grade": "poor"})
    assert bad.status_code == 422 and "晚于今天" in bad.get_json()["errors"]["assessed_on"][0]
    ok = client.post(f"/api/v1/assets/{asset_id}/assessments",
                     json={"assessed_on": LOCAL_DAY.isoformat(), "assessor": "李四", "grade": "poor"})
    assert ok.status_code == 201, ok.get_json()
    with app.app_context():
        from registry.accounts.models import User
        from registry.assets.assessments import record_assessment
        assert db.session.get(Asset, asset_id).condition_assessed_on == LOCAL_DAY
        with pytest.raises(ValidationFailed) as exc:  # the service checks too, whoever calls it
            record_assessment(asset_id, db.session.get(User, inspector_id), assessed_on=TOMORROW, assessor="李四",
                              grade=ConditionGrade.GOOD)
        assert "晚于今天" in exc.value.errors["assessed_on"][0]


def test_notice_issued_and_served_on_the_local_day(client, app, login_as):
    from tests.notice_factories import issue_signed
    from tests.notice_factories import flagged_assets
    with app.app_context():
        [notice] = issue_signed(flagged_assets(1), make_user("maintainer", "zjj"), render=False)
        notice_id = notice.id
        assert notice.issued_on == LOCAL_DAY
        with pytest.raises(ValidationFailed):
            issue_signed(flagged_assets(1), None, issued_on=TOMORROW, render=False)
    login_as("inspector", "zjj")
    bad = client.post(f"/api/v1/notices/{notice_id}/serve", json={"served_on": TOMORROW.isoformat(), "recipient": "王"})
    assert bad.status_code == 422 and "不能晚于今天" in str(bad.get_json())
    ok = client.post(f"/api/v1/notices/{notice_id}/serve", json={"served_on": LOCAL_DAY.isoformat(), "recipient": "王"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["status"] == "served"


def test_export_names_and_stamp_carry_the_local_time(client, app, login, edge):
    with app.app_context():
        make_asset(Category.ELEVATOR)
    login("maintainer", "zjj")
    resp = client.get("/assets/export?category=elevator")
    data = resp.data
    resp.close()
    assert resp.status_code == 200
    assert f"电梯台账-{LOCAL_DAY:%Y%m%d}-{_hhmm(edge)}.xlsx" in unquote(resp.headers["Content-Disposition"])
    cells = [c for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets
             for row in ws.iter_rows(values_only=True) for c in row if c]
    assert f"{LOCAL_DAY} {edge}" in cells  # 导出时间 in the sheet's header block


def test_audit_export_name_and_date_filter_use_the_local_day(client, app, login_as, edge):
    login_as("auditor")
    with app.app_context():
        audit.record("asset.update", object_type="asset", object_id=7)
        db.session.commit()
    name = client.get("/audit/export.csv").headers["Content-Disposition"]
    assert f'filename="audit-{LOCAL_DAY:%Y%m%d}-{_hhmm(edge)}' in name
    ids = lambda url: re.findall(r'<td class="num">(\d+)</td>', client.get(url).get_data(as_text=True))  # noqa: E731
    assert len(ids(f"/audit/?start={LOCAL_DAY}&end={LOCAL_DAY}")) >= 1
    utc_day = clock.now().date()
    if utc_day != LOCAL_DAY:  # at 00:30 the machine's date is yesterday: nothing was logged on that local day
        assert ids(f"/audit/?start={utc_day}&end={utc_day}") == []


def test_daily_job_period_is_the_local_date(ctx, edge):
    from registry.jobs.catalog import get_job
    from registry.jobs.services import current_period, request_run
    assert current_period(get_job("nightly-evaluation")) == "2026-12-02"
    assert current_period(get_job("monthly-overdue-reminder")) == "2026-12"
    run = request_run("nightly-evaluation", make_user("sysadmin", None))
    assert run.period == "2026-12-02"


def test_rules_page_defaults_to_the_local_today(client, app, login):
    login("maintainer", "zjj")
    with app.app_context():
        asset_id = make_asset(Category.ELEVATOR).id
    html = client.get(f"/rules/asset/{asset_id}").get_data(as_text=True)
    assert f"按 {LOCAL_DAY.isoformat()} 现行规则" in html
