"""出具通知书 from the asset page, the public base URL of the QR code, and the filtered, paged notice list."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa

from registry import clock
from registry.config import public_base_url_problem
from registry.enums import Category, NonRoadEmissionStage, NoticeStatus
from registry.extensions import db
from registry.notices.models import DocumentCounter, Notice
from tests.factories import make_asset, make_unit
from tests.live import ROOT
from tests.notice_factories import flagged_assets, issue_signed

DAY = date(2025, 7, 16)


@pytest.fixture
def fresh_assets(app):
    """Plan rules loaded, no evaluation run yet: one old (mandatory) and one young asset of 住建局."""
    with app.app_context():
        from registry.rules.versions import seed_packs
        seed_packs(("plan",))
        old = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2012, 3, 1),
                         detail={"emission_stage": NonRoadEmissionStage.STAGE_3})
        young = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2024, 3, 1),
                           detail={"emission_stage": NonRoadEmissionStage.STAGE_4})
        return old.id, young.id


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("role", ["maintainer", "inspector"])
def test_asset_page_drafts_a_notice_the_minute_the_asset_is_registered(app, client, login_as, fresh_assets, role):
    old_id, _young_id = fresh_assets
    login_as(role)
    page = client.get(f"/assets/{old_id}").get_data(as_text=True)
    assert "出具通知书" in page
    resp = client.post(f"/notices/from-asset/{old_id}")
    assert resp.status_code == 303 and "/notices/" in resp.headers["Location"]
    with app.app_context():
        [draft] = db.session.scalars(sa.select(Notice)).all()
        assert draft.status is NoticeStatus.DRAFT and draft.number is None
        assert [i.asset_id for i in draft.items] == [old_id] and draft.items[0].rule_code.startswith("XZ-")
        assert draft.drafted_by_id is not None and _count(DocumentCounter) == 0
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "预览 PDF" in detail
    # Pressing again: refused, nothing new.
    again = client.post(f"/notices/from-asset/{old_id}", follow_redirects=True)
    assert "已有待签发的拟稿" in again.get_data(as_text=True)
    with app.app_context():
        assert _count(Notice) == 1


def test_asset_page_refuses_an_asset_without_mandatory_finding(app, client, login_as, fresh_assets):
    _old_id, young_id = fresh_assets
    login_as("maintainer")
    resp = client.post(f"/notices/from-asset/{young_id}", follow_redirects=True)
    assert "没有强制更新、淘汰或报废的结论" in resp.get_data(as_text=True)
    api = client.post(f"/api/v1/notices/from-asset/{young_id}")
    assert api.status_code == 422 and "没有强制" in api.get_json()["message"]
    with app.app_context():
        assert _count(Notice) == 0


def test_asset_of_another_department_is_not_found(app, client, login_as, fresh_assets):
    old_id, _ = fresh_assets
    login_as("maintainer", "nync")
    assert client.post(f"/notices/from-asset/{old_id}").status_code == 404
    assert client.post(f"/api/v1/notices/from-asset/{old_id}").status_code == 404
    with app.app_context():
        assert _count(Notice) == 0


def test_api_from_asset_refuses_an_open_draft_with_409(app, client, login_as, fresh_assets):
    old_id, _ = fresh_assets
    login_as("inspector")
    first = client.post(f"/api/v1/notices/from-asset/{old_id}")
    assert first.status_code == 201 and first.get_json()["status"] == "draft"
    second = client.post(f"/api/v1/notices/from-asset/{old_id}")
    assert second.status_code == 409 and "已有待签发的拟稿" in second.get_json()["message"]


@pytest.mark.parametrize("value", ["", "ftp://example.org", "javascript:alert(1)", "sbgx.xinzheng.gov.cn",
                                   "https://", "http://user:pw@host", "https://host/?a=1", "http://host:99999"])
def test_a_base_url_that_is_not_http_host_is_refused_in_chinese(value):
    problem = public_base_url_problem(value)
    assert problem and "REGISTRY_PUBLIC_BASE_URL" in problem


@pytest.mark.parametrize("value", ["https://sbgx.xinzheng.gov.cn", "http://10.1.2.3:8080/registry"])
def test_a_public_http_host_is_accepted(value):
    assert public_base_url_problem(value) is None


def test_qr_encodes_the_configured_base_url(app):
    from registry.notices.documents import verify_url
    app.config["PUBLIC_BASE_URL"] = "https://sbgx.xinzheng.gov.cn/"
    with app.app_context():
        assert verify_url("abc") == "https://sbgx.xinzheng.gov.cn/verify/abc"


def test_check_base_url_warns_on_the_default_and_refuses_in_production(runner, monkeypatch):
    monkeypatch.delenv("REGISTRY_PUBLIC_BASE_URL", raising=False)
    warned = runner.invoke(args=["registry", "notices", "check-base-url"])
    assert warned.exit_code == 0 and "警告" in warned.output and "手机扫码无法核验" in warned.output
    refused = runner.invoke(args=["registry", "notices", "check-base-url", "--production"])
    assert refused.exit_code == 2 and "未设置 REGISTRY_PUBLIC_BASE_URL" in refused.output
    monkeypatch.setenv("REGISTRY_PUBLIC_BASE_URL", "ftp://files.example")
    bad = runner.invoke(args=["registry", "notices", "check-base-url", "--production"])
    assert bad.exit_code == 2 and "应为 http:// 或 https://" in bad.output
    monkeypatch.setenv("REGISTRY_PUBLIC_BASE_URL", "https://sbgx.xinzheng.gov.cn")
    ok = runner.invoke(args=["registry", "notices", "check-base-url", "--production"])
    assert ok.exit_code == 0 and "https://sbgx.xinzheng.gov.cn/verify/" in ok.output


@pytest.mark.parametrize("base_url,message", [(None, "未设置 REGISTRY_PUBLIC_BASE_URL"),
                                              ("file:///etc", "应为 http:// 或 https://")])
def test_serve_prod_refuses_to_start_without_a_usable_base_url(tmp_path, base_url, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    # The venv running this test (scripts/serve-prod.sh runs $VENV/bin/flask); the database is never reached.
    env.update(REGISTRY_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", REGISTRY_SECRET_KEY="x" * 32,
               VENV=os.path.dirname(os.path.dirname(sys.executable)))
    if base_url:
        env["REGISTRY_PUBLIC_BASE_URL"] = base_url
    done = subprocess.run(["bash", "scripts/serve-prod.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr


def _three_notices(app):
    with app.app_context():
        a = issue_signed(flagged_assets(1, unit=make_unit(name="龙湖建设公司", township="龙湖镇")),
                         issued_on=date(2025, 3, 1), render=False)[0]
        b = issue_signed(flagged_assets(1, unit=make_unit(name="和庄农机站", township="和庄镇")),
                         issued_on=date(2025, 6, 1), render=False)[0]
        c = issue_signed(flagged_assets(1), issued_on=DAY, render=False)[0]
        return a.number, b.number, c.number


def test_api_list_is_keyset_paged_newest_first_and_filters(app, client, login_as):
    a, b, c = _three_notices(app)
    login_as("inspector")
    first = client.get("/api/v1/notices/?limit=2").get_json()
    assert [n["number"] for n in first["items"]] == [c, b] and first["next_cursor"]
    second = client.get(f"/api/v1/notices/?limit=2&cursor={first['next_cursor']}").get_json()
    assert [n["number"] for n in second["items"]] == [a] and second["next_cursor"] is None
    assert [n["number"] for n in client.get(f"/api/v1/notices/?q={b}").get_json()["items"]] == [b]
    assert [n["number"] for n in client.get("/api/v1/notices/?unit=农机站").get_json()["items"]] == [b]
    ranged = client.get("/api/v1/notices/?date_from=2025-05-01&date_to=2025-06-30").get_json()["items"]
    assert [n["number"] for n in ranged] == [b]
    assert client.get("/api/v1/notices/?department=zjj&status=已下达").get_json()["items"]
    overdue = client.get("/api/v1/notices/?overdue=1").get_json()["items"]
    assert {n["number"] for n in overdue} <= {a, b, c}  # deadlines are 2026-12-31: none due before then
    assert all(n["deadline"] < clock.today().isoformat() for n in overdue)


@pytest.mark.parametrize("query,field", [("status=sent", "status"), ("department=xyz", "department"),
                                         ("date_from=16.7.2025", "date_from"),
                                         ("date_from=2025-07-02&date_to=2025-07-01", "date_to"),
                                         ("overdue=maybe", "overdue"), ("cursor=abc", "cursor"),
                                         ("limit=0", "limit"), ("q=" + "号" * 41, "q")])
def test_bad_list_filters_get_a_chinese_4xx_on_page_and_api(app, client, login_as, query, field):
    login_as("maintainer")
    api = client.get(f"/api/v1/notices/?{query}")
    assert api.status_code == 422, api.get_data(as_text=True)
    assert field in api.get_json().get("errors", {}), api.get_json()
    if field != "limit":  # the page has a fixed page size
        page = client.get(f"/notices/?{query}")
        assert page.status_code == 422 and api.get_json()["message"] in page.get_data(as_text=True)


def test_page_list_searches_by_number_and_pages(app, client, login_as):
    a, b, c = _three_notices(app)
    login_as("inspector")
    html = client.get(f"/notices/?q={a}").get_data(as_text=True)
    assert a in html and b not in html and c not in html
    assert "下一页" in client.get("/notices/").get_data(as_text=True)
