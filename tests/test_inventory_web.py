"""Inventory web pages: list, detail with history, create/edit with Chinese messages, bulk, scoping."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.enums import Category, LifecycleStatus
from registry.extensions import db
from tests.factories import make_asset


def _asset(app, category=Category.ELEVATOR, **kw):
    with app.app_context():
        a = make_asset(category, **kw)
        return a.id, a.code


def _form(client, asset_id):
    html = client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    assert "保存修改" in html
    import re
    return {m.group(1): m.group(2) for m in re.finditer(r'<input id="f-(\w+)" name="\w+" value="([^"]*)"', html)}


def test_list_filters_and_keyset_links(client, app, login):
    login("maintainer", "zjj")
    ids = [_asset(app, township="龙湖镇")[0] for _ in range(3)]
    _asset(app, township="八千乡")
    resp = client.get("/assets/c/elevator?township=龙湖镇")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "电梯台账" in html and html.count('class="row-select"') == 3
    assert "下一页" in html and "上一页" in html and "统计符合条件的数量" in html
    assert "共 <b>3</b>" in client.get("/assets/c/elevator?township=龙湖镇&count=1").get_data(as_text=True)
    bad = client.get("/assets/c/elevator?age_min=abc")
    assert bad.status_code == 400 and "使用年限下限：应为" in bad.get_data(as_text=True)
    assert client.get("/assets/c/nonsense").status_code == 404
    assert ids


def test_detail_shows_attributes_and_history(client, app, login):
    login("maintainer", "zjj")
    asset_id, code = _asset(app, detail={"floors": 9})
    form = _form(client, asset_id)
    form.update(version="1", name="改名后的电梯", elevator_type="traction", status="in_use",
                condition_grade="poor", township="新建路街道")
    resp = client.post(f"/assets/{asset_id}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert code in html and "层数" in html and "修改历史" in html
    assert "改名后的电梯" in html and "较差" in html and 'id="findings"' in html  # the rules engine is wired in


def test_edit_bad_input_gives_chinese_field_message_and_changes_nothing(client, app, login):
    login("maintainer", "zjj")
    asset_id, _code = _asset(app)
    form = _form(client, asset_id)
    form.update(version="1", elevator_type="traction", floors="十层", commissioned_on="2015年13月1日",
                township="新建路街道")
    resp = client.post(f"/assets/{asset_id}/edit", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "层数：「十层」不是数字" in html and "投入使用日期：" in html
    with app.app_context():
        assert db.session.get(Asset, asset_id).version == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AssetChange)) == 0


def test_edit_with_stale_version_is_409(client, app, login):
    login("maintainer", "zjj")
    asset_id, _code = _asset(app)
    form = _form(client, asset_id)
    form.update(version="1", elevator_type="traction", name="第一次")
    assert client.post(f"/assets/{asset_id}/edit", data=form).status_code == 302
    form.update(name="过期表单")
    resp = client.post(f"/assets/{asset_id}/edit", data=form)
    assert resp.status_code == 409 and "已被他人修改" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Asset, asset_id).name == "第一次"


def test_create_form(client, app, login):
    login("maintainer", "jgsw")
    data = {"code": "XZ-GC-1", "name": "公务车", "owner_unit": "新郑市机关事务服务中心", "township": "新华路街道",
            "registered_on": "2016.5.3", "plate_number": "豫A12345", "use_class": "general", "status": "in_use"}
    resp = client.post("/assets/c/official_car/new", data={**data, "use_class": ""})
    assert resp.status_code == 422 and "车辆用途类别：不能为空" in resp.get_data(as_text=True)
    resp = client.post("/assets/c/official_car/new", data=data)
    assert resp.status_code == 302
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.code == "XZ-GC-1"))
        assert asset.official_car.plate_number == "豫A12345" and str(asset.registered_on) == "2016-05-03"
    assert client.post("/assets/c/elevator/new", data=data).status_code == 403


def test_other_departments_asset_is_404_everywhere_and_audited(client, app, login):
    login("maintainer", "zjj")
    foreign_id, _ = _asset(app, Category.MEDICAL_DEVICE)
    assert client.get(f"/assets/{foreign_id}").status_code == 404
    assert client.get(f"/assets/{foreign_id}/edit").status_code == 404
    assert client.post(f"/assets/{foreign_id}/delete", data={"reason": "测试删除"}).status_code == 404
    own_id, _ = _asset(app)
    resp = client.post("/assets/c/elevator/bulk", data={"ids": [own_id, foreign_id], "bulk_status": "idle"})
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(Asset, own_id).status is LifecycleStatus.IN_USE
        assert db.session.get(Asset, foreign_id).deleted_at is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.action == "asset.access_denied")) == 4


def test_inspector_cannot_edit_but_can_assess(client, app, login):
    login("inspector", "zjj")
    asset_id, _ = _asset(app)
    assert client.get(f"/assets/{asset_id}/edit").status_code == 403
    resp = client.post(f"/assets/{asset_id}/assess", data={"assessed_on": "2025-03-01", "assessor": "王工",
                                                           "grade": "bad", "findings": "钢丝绳断丝"})
    assert resp.status_code == 302
    html = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "钢丝绳断丝" in html and "状况评定" in html
    bad = client.post(f"/assets/{asset_id}/assess", data={"assessed_on": "明天", "assessor": "", "grade": ""})
    assert bad.status_code == 422 and "评定人：不能为空" in bad.get_data(as_text=True)


def test_bulk_edit_and_soft_delete(client, app, login):
    login("maintainer", "zjj")
    a, _ = _asset(app)
    b, _ = _asset(app)
    resp = client.post("/assets/c/elevator/bulk", data={"ids": [a, b], "bulk_status": "idle", "bulk_condition_grade": "bad"})
    assert resp.status_code == 302
    assert "批量修改" in client.get(f"/assets/{a}").get_data(as_text=True)
    assert client.post(f"/assets/{b}/delete", data={"reason": ""}).status_code == 422
    assert client.post(f"/assets/{b}/delete", data={"reason": "重复登记"}).status_code == 302
    html = client.get("/assets/c/elevator").get_data(as_text=True)
    assert html.count('class="row-select"') == 1
    assert "已删除" in client.get("/assets/c/elevator?deleted=1").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Asset, a).status is LifecycleStatus.IDLE


def test_findings_block_appears_when_a_provider_is_registered(client, app, login):
    from types import SimpleNamespace
    from registry.assets.views import FINDINGS_EXTENSION
    from registry.enums import RuleOutcome
    login("taskforce", None)
    asset_id, _ = _asset(app)
    app.extensions.pop(FINDINGS_EXTENSION)  # without a rules engine the page has no findings block
    assert 'id="findings"' not in client.get(f"/assets/{asset_id}").get_data(as_text=True)
    app.extensions[FINDINGS_EXTENSION] = lambda asset: [SimpleNamespace(
        outcome=RuleOutcome.MANDATORY_RENEWAL, result="hit", overdue=False, rule_code="XZ-7", rule_version=1,
        as_of="2026-01-01", deadline=None, explanation=f"{asset.code} 投入使用已超过 20 年")]
    html = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert 'id="findings"' in html and "强制更新" in html and "投入使用已超过 20 年" in html
