"""A replacement that registers its new asset in the same flow: the form on the old asset's page and the JSON API.

One transaction writes the new asset (with its history and audit record), the replacement record and the
old assets' 已更新; any refusal, of the asset's fields or of the replacement's, writes nothing.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry import clock
from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.disposals.models import Replacement, ReplacementLink
from registry.enums import Category, LifecycleStatus
from registry.extensions import db
from tests.factories import make_asset

P = "new_asset."


def _counts(app) -> tuple:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                     for m in (Asset, AssetChange, Replacement, ReplacementLink))


def _asset(app, category=Category.CONSTRUCTION_MACHINE) -> tuple[int, str]:
    with app.app_context():
        asset = make_asset(category)
        return asset.id, asset.code


def _form(old_code: str, **kw) -> dict:
    form = {"replaces": old_code, "replaced_on": clock.today().isoformat(), "investment_yuan": "1,380,000",
            "funding_source": "超长期特别国债", "efficiency_level": "节能", "emission_standard": "非道路国四",
            "new_energy": "是", P + "code": "XZ-GC-NEW-0001", P + "name": "新购履带式挖掘机",
            P + "owner_unit": "新郑市市政工程有限公司", P + "township": "新建路街道",
            P + "commissioned_on": clock.today().isoformat(), P + "machine_type": "excavator"}
    form.update(kw)
    return form


def test_the_form_registers_the_new_asset_and_the_replacement_in_one_go(app, client, login_as):
    old_id, old_code = _asset(app)
    login_as("maintainer", "zjj")
    page = client.get(f"/assets/{old_id}/replacement?new=1").get_data(as_text=True)
    assert "同时登记新设备" in page and f'name="{P}code"' in page and f'name="{P}machine_type"' in page
    assert 'name="new_asset"' not in page  # the new asset is the one being registered
    ok = client.post(f"/assets/{old_id}/replacement?new=1", data=_form(old_code))
    assert ok.status_code == 302, ok.get_data(as_text=True)[:2000]
    assert "已登记新设备 XZ-GC-NEW-0001" in client.get(ok.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        new = db.session.scalar(sa.select(Asset).where(Asset.code == "XZ-GC-NEW-0001"))
        assert new.category is Category.CONSTRUCTION_MACHINE and new.detail.machine_type.value == "excavator"
        row = db.session.scalar(sa.select(Replacement))
        assert row.new_asset_id == new.id and [link.old_asset_id for link in row.links] == [old_id]
        assert str(row.investment_yuan) == "1380000.00" and row.new_energy
        assert db.session.get(Asset, old_id).status is LifecycleStatus.RENEWED
        history = {(c.asset_id, c.action) for c in db.session.scalars(sa.select(AssetChange))}
        assert (new.id, "create") in history and (old_id, "replace") in history
        actions = [a for a in db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id))]
        assert actions.index("asset.create") < actions.index("replacement.create")


def test_the_form_reports_asset_and_replacement_errors_together_and_writes_nothing(app, client, login_as):
    old_id, old_code = _asset(app)
    login_as("maintainer", "zjj")
    before = _counts(app)
    bad = client.post(f"/assets/{old_id}/replacement?new=1",
                      data=_form(old_code, investment_yuan="-3", **{P + "name": "", P + "commissioned_on": "明天"}))
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "投资金额（元）：须大于 0" in page and "设备名称" in page and "不能为空" in page
    assert 'value="XZ-GC-NEW-0001"' in page  # what the clerk typed stays in the form
    assert _counts(app) == before


@pytest.mark.parametrize("kw, words", [
    ({"investment_yuan": "20000000000"}, "超过单项上限"),
    ({"replaced_on": (clock.today() + timedelta(days=1)).isoformat()}, "未来"),
    ({P + "commissioned_on": (clock.today() + timedelta(days=1)).isoformat()}, "未来日期"),
])
def test_the_form_refuses_bad_amounts_and_dates_of_either_part(app, client, login_as, kw, words):
    old_id, old_code = _asset(app)
    login_as("maintainer", "zjj")
    before = _counts(app)
    bad = client.post(f"/assets/{old_id}/replacement?new=1", data=_form(old_code, **kw))
    assert bad.status_code == 422 and words in bad.get_data(as_text=True)
    assert _counts(app) == before


def test_the_form_refuses_to_replace_another_departments_asset_with_a_new_one(app, client, login_as):
    old_id, old_code = _asset(app)
    _farm_id, farm_code = _asset(app, Category.FARM_MACHINE)  # 农业农村局
    login_as("maintainer", "zjj")
    before = _counts(app)
    bad = client.post(f"/assets/{old_id}/replacement?new=1", data=_form(f"{old_code},{farm_code}"))
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and farm_code in page and "不是同一部门" in page
    assert _counts(app) == before
    with app.app_context():
        assert db.session.get(Asset, old_id).status is LifecycleStatus.IN_USE


def test_the_form_still_takes_an_existing_new_asset(app, client, login_as):
    old_id, old_code = _asset(app)
    _new_id, new_code = _asset(app)
    login_as("maintainer", "zjj")
    form = {k: v for k, v in _form(old_code).items() if not k.startswith(P)}
    ok = client.post(f"/assets/{old_id}/replacement", data={**form, "new_asset": new_code})
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Replacement)).new_asset.code == new_code


def _api_body(old_code: str, **kw) -> dict:
    body = {"replaces": [old_code], "replaced_on": clock.today().isoformat(), "investment_yuan": "560000",
            "funding_source": "local_fiscal", "new_energy": False,
            "new_asset": {"category": "construction_machine", "code": "XZ-GC-API-0001", "name": "新购塔式起重机",
                          "owner_unit": "新郑市建设工程有限公司", "township": "新建路街道",
                          "commissioned_on": clock.today().isoformat(), "detail": {"machine_type": "tower_crane"}}}
    body.update(kw)
    return body


def test_the_api_creates_the_new_asset_and_the_replacement_in_one_request(app, client, login_as):
    old_id, old_code = _asset(app)
    login_as("maintainer", "zjj")
    ok = client.post("/api/v1/replacements", json=_api_body(old_code))
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["new_asset_code"] == "XZ-GC-API-0001" and ok.get_json()["replaces"] == [old_code]
    records = client.get(f"/api/v1/assets/{old_id}/records").get_json()
    assert records["replaced_by"]["new_asset_code"] == "XZ-GC-API-0001"


@pytest.mark.parametrize("change, key, words", [
    ({"investment_yuan": -1}, "investment_yuan", "大于 0"),
    ({"investment_yuan": 1e15}, "investment_yuan", "上限"),
    ({"new_asset": {"category": "construction_machine", "code": "X", "detail": {}}}, P + "name", "不能为空"),
    ({"new_asset": {"category": "farm_machine", "code": "XZ-NJ-1", "name": "拖拉机", "owner_unit": "某合作社",
                    "township": "新建路街道", "detail": {"machine_type": "tractor_medium"}}}, None, "无权登记"),
    ({"new_asset": ["not", "an", "asset"]}, "new_asset", "已登记设备的编号"),
])
def test_the_api_refuses_bad_combined_requests_and_writes_nothing(app, client, login_as, change, key, words):
    _old_id, old_code = _asset(app)
    login_as("maintainer", "zjj")
    before = _counts(app)
    bad = client.post("/api/v1/replacements", json=_api_body(old_code, **change))
    body = bad.get_json()
    assert bad.status_code in (403, 422) and words in str(body)
    if key:
        assert words in str(body["errors"][key])
    assert _counts(app) == before


def test_the_api_refuses_a_new_asset_replacing_another_departments_asset(app, client, login_as):
    _farm_id, farm_code = _asset(app, Category.FARM_MACHINE)
    login_as("maintainer", "zjj")
    before = _counts(app)
    bad = client.post("/api/v1/replacements", json=_api_body(farm_code))
    assert bad.status_code == 422 and "不是同一部门" in str(bad.get_json()["errors"]["replaces"])
    assert _counts(app) == before
