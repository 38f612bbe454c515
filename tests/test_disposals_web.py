"""The 处置与更新 section and forms on the asset page, and the JSON API: roles, errors in Chinese, nothing written."""
from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from registry import clock
from registry.disposals.models import Disposal, Replacement
from registry.enums import Category
from registry.extensions import db
from tests.factories import make_asset

PDF = b"%PDF-1.4\n%%EOF"


def _count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _asset(app, category=Category.CONSTRUCTION_MACHINE):
    with app.app_context():
        return make_asset(category).id


def test_maintainer_records_a_disposal_with_a_scan_on_the_asset_page(app, client, login_as, tmp_path):
    app.config["DISPOSAL_FILES_DIR"] = str(tmp_path)
    asset_id = _asset(app)
    login_as("maintainer", "zjj")
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "处置与更新" in page and "登记处置记录" in page
    form = {"way": "scrap_dismantle", "disposed_on": clock.today().isoformat(), "receiver": "新郑再生资源公司",
            "deregistration_no": "ZX-2025-1", "documents": (io.BytesIO(b"not a pdf"), "证明.pdf")}
    bad = client.post(f"/assets/{asset_id}/disposal", data=form, content_type="multipart/form-data")
    assert bad.status_code == 422 and "只接受 PDF、JPEG 或 PNG" in bad.get_data(as_text=True)
    assert _count(app, Disposal) == 0
    form["documents"] = (io.BytesIO(PDF), "证明.pdf")
    ok = client.post(f"/assets/{asset_id}/disposal", data=form, content_type="multipart/form-data")
    assert ok.status_code == 302
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "报废拆解" in page and "ZX-2025-1" in page and "已报废" in page
    with app.app_context():
        doc_id = db.session.scalar(sa.select(Disposal)).documents[0].id
    got = client.get(f"/disposal-documents/{doc_id}")
    status, data = got.status_code, got.data
    got.close()
    assert status == 200 and data == PDF


def test_readers_cannot_write_and_other_departments_cannot_see(app, client, login_as):
    asset_id = _asset(app)
    login_as("inspector", "zjj")
    assert client.get(f"/assets/{asset_id}/disposal").status_code == 403
    assert client.post(f"/api/v1/assets/{asset_id}/disposal", json={}).status_code == 403
    assert client.get(f"/api/v1/assets/{asset_id}/records").status_code == 200
    login_as("maintainer", "nync")
    assert client.post(f"/api/v1/assets/{asset_id}/disposal", json={
        "way": "transfer", "disposed_on": clock.today().isoformat(), "receiver": "某公司"}).status_code in (403, 404)
    assert _count(app, Disposal) == 0


def test_api_disposal_and_replacement_round_trip_with_chinese_errors(app, client, login_as):
    old_id, new_id = _asset(app), _asset(app)
    with app.app_context():
        from registry.assets.models import Asset
        old_code, new_code = db.session.get(Asset, old_id).code, db.session.get(Asset, new_id).code
    login_as("maintainer", "zjj")
    future = (clock.today() + timedelta(days=1)).isoformat()
    bad = client.post(f"/api/v1/assets/{old_id}/disposal", json={"way": "transfer", "disposed_on": future,
                                                                "receiver": "某公司"})
    assert bad.status_code == 422 and "未来日期" in str(bad.get_json())
    unknown = client.post(f"/api/v1/assets/{old_id}/disposal", json={"colour": "red"})
    assert unknown.status_code == 422 and "未知字段" in str(unknown.get_json())
    assert _count(app, Disposal) == 0
    ok = client.post(f"/api/v1/assets/{old_id}/disposal", json={
        "way": "transfer", "disposed_on": clock.today().isoformat(), "receiver": "某公司"})
    assert ok.status_code == 201 and ok.get_json()["way_label"] == "转让"
    body = {"new_asset": new_code, "replaces": [old_code], "replaced_on": clock.today().isoformat(),
            "investment_yuan": -1, "funding_source": "self_raised", "new_energy": True}
    bad = client.post("/api/v1/replacements", json=body)
    assert bad.status_code == 422 and "大于 0" in str(bad.get_json())
    assert _count(app, Replacement) == 0
    body["investment_yuan"] = "880000"
    ok = client.post("/api/v1/replacements", json=body)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["replaces"] == [old_code] and ok.get_json()["investment_yuan"] == "880000.00"
    records = client.get(f"/api/v1/assets/{old_id}/records").get_json()
    assert records["disposal"]["receiver"] == "某公司" and records["replaced_by"]["new_asset_code"] == new_code
    for junk in ({"new_asset": ["x"], "replaces": "a"}, {"investment_yuan": {"a": 1}}, {"replaces": [True]}):
        assert client.post("/api/v1/replacements", json=junk).status_code == 422
