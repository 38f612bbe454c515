"""JSON API: filters and cursors, optimistic concurrency (409/412/428), Chinese 422s, roles, OpenAPI."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from registry import create_app
from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from tests.factories import make_asset


def _asset(app, category=Category.ELEVATOR, **kw):
    with app.app_context():
        return make_asset(category, **kw).id


def test_list_with_cursor_and_filters(client, app, login):
    login("taskforce", None)
    ids = [_asset(app) for _ in range(5)] + [_asset(app, Category.PIPE)]
    resp = client.get("/api/v1/assets?category=elevator&limit=2")
    body = resp.get_json()
    assert resp.status_code == 200 and [a["id"] for a in body["items"]] == ids[:2]
    seen = [a["id"] for a in body["items"]]
    while body["next_cursor"]:
        body = client.get(f"/api/v1/assets?category=elevator&limit=2&cursor={body['next_cursor']}").get_json()
        seen += [a["id"] for a in body["items"]]
    assert seen == ids[:5]
    item = client.get(f"/api/v1/assets/{ids[0]}")
    assert item.headers["ETag"] == '"1"' and item.get_json()["detail"]["elevator_type"] == "traction"
    bad = client.get("/api/v1/assets?grade=极好")
    assert bad.status_code == 422 and "状况等级" in bad.get_json()["errors"]["grade"][0]


def test_patch_concurrency(client, app, login):
    login("maintainer", "zjj")
    asset_id = _asset(app, detail={"floors": 5})
    assert client.patch(f"/api/v1/assets/{asset_id}", json={"name": "x"}).status_code == 428
    ok = client.patch(f"/api/v1/assets/{asset_id}", json={"name": "甲", "version": 1, "detail": {"floors": 6}})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2 and ok.get_json()["detail"]["floors"] == 6
    stale_body = client.patch(f"/api/v1/assets/{asset_id}", json={"name": "乙", "version": 1})
    assert stale_body.status_code == 409
    stale_header = client.patch(f"/api/v1/assets/{asset_id}", json={"name": "乙"}, headers={"If-Match": '"1"'})
    assert stale_header.status_code == 412
    good_header = client.patch(f"/api/v1/assets/{asset_id}", json={"name": "丙"}, headers={"If-Match": '"2"'})
    assert good_header.status_code == 200 and good_header.headers["ETag"] == '"3"'
    bad = client.patch(f"/api/v1/assets/{asset_id}", json={"version": 3, "detail": {"floors": "很多"}, "colour": 1})
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert errors["floors"] == ["层数：「很多」不是数字"] and errors["colour"] == ["未知字段：colour"]
    with app.app_context():
        asset = db.session.get(Asset, asset_id)
        assert asset.name == "丙" and asset.version == 3


def test_create_and_soft_delete(client, app, login):
    login("maintainer", "zjj")
    body = {"category": "pipe", "code": "XZ-GD-1", "name": "人民路供水管", "owner_unit": "新郑华润水务有限公司",
            "township": "新建路街道", "commissioned_on": "1995-01-01",
            "detail": {"facility_type": "pipe", "network": "water", "material": "灰口铸铁", "diameter_mm": 300}}
    bad = client.post("/api/v1/assets", json={**body, "township": "北京", "detail": {"network": "油"}})
    assert bad.status_code == 422
    errs = bad.get_json()["errors"]
    assert "设施类型：不能为空" in errs["facility_type"] and errs["network"][0].startswith("管网类别：")
    resp = client.post("/api/v1/assets", json={**body, "township": "北京"})
    assert resp.status_code == 422 and "不是新郑市下辖乡镇或街道" in resp.get_json()["errors"]["township"][0]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0
    resp = client.post("/api/v1/assets", json=body)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert created["detail"]["material"] == "grey_cast_iron" or created["detail"]["material"]
    assert client.delete(f"/api/v1/assets/{created['id']}", json={}).status_code == 422
    gone = client.delete(f"/api/v1/assets/{created['id']}", json={"reason": "录入错误"})
    assert gone.status_code == 200 and gone.get_json()["deletion_reason"] == "录入错误"
    assert client.get(f"/api/v1/assets/{created['id']}").status_code == 200  # never hard-deleted


def test_scoping_and_roles(client, app, login):
    login("maintainer", "zjj")
    foreign = _asset(app, Category.FARM_MACHINE)
    assert client.get(f"/api/v1/assets/{foreign}").status_code == 404
    assert client.patch(f"/api/v1/assets/{foreign}", json={"name": "x", "version": 1}).status_code == 404
    assert client.post(f"/api/v1/assets/{foreign}/assessments",
                       json={"assessed_on": "2024-01-01", "assessor": "x", "grade": "bad"}).status_code == 403


def test_assessments_api(client, app, login):
    login("inspector", "zjj")
    asset_id = _asset(app)
    resp = client.post(f"/api/v1/assets/{asset_id}/assessments",
                       json={"assessed_on": "2025-02-01", "assessor": "赵工", "grade": "较差", "findings": "门机异响"})
    assert resp.status_code == 201 and resp.get_json()["grade"] == "poor"
    assert client.get(f"/api/v1/assets/{asset_id}").get_json()["condition_grade"] == "poor"
    assert len(client.get(f"/api/v1/assets/{asset_id}/assessments").get_json()) == 1
    bad = client.post(f"/api/v1/assets/{asset_id}/assessments", json={"assessor": "赵工", "grade": "棒"})
    assert bad.status_code == 422


def test_units_api(client, app, login):
    login("maintainer", "zjj")
    resp = client.post("/api/v1/units", json={"name": "锦绣小区", "township": "龙湖镇"})
    assert resp.status_code == 201 and resp.get_json()["kind"] == "residential_community"
    assert client.post("/api/v1/units", json={"name": "锦绣小区", "township": "龙湖镇"}).status_code == 409
    assert client.post("/api/v1/units", json={"name": "x", "township": "火星"}).status_code == 422
    assert [u["name"] for u in client.get("/api/v1/units?q=锦绣").get_json()] == ["锦绣小区"]


def test_openapi_document_and_docs_page(client, login):
    login("taskforce", None)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/assets", "/api/v1/assets/{asset_id}", "/api/v1/units"} <= set(spec["paths"])
    assert "requestBody" in spec["paths"]["/api/v1/assets/{asset_id}"]["patch"]
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html and "<script>" not in html
    with client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js") as js:
        assert js.status_code == 200 and b"SwaggerUIBundle" in js.get_data()


def test_every_api_method_declares_roles():
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/assets", "/api/v1/units", "/assets")):
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            target = getattr(cls, method.lower()) if cls else view
            assert getattr(target, "allowed_roles", None), (rule.rule, method)


def test_the_asset_dump_reads_attributes_directly_and_writes_what_marshmallow_writes(ctx):
    """ObjectDumpSchema's loop against marshmallow's own, over every category, a removed asset and empty fields."""
    import marshmallow as ma
    from registry.assets.schemas import AssetOutSchema
    from registry.demo.inventory import seed_demo
    seed_demo(120)
    removed = db.session.scalar(sa.select(Asset).order_by(Asset.id.desc()).limit(1))
    removed.deleted_at, removed.deletion_reason, removed.user_unit_id, removed.notes = (
        datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc), "录入重复", None, "备注")
    db.session.flush()
    db.session.expire_all()
    assets = db.session.scalars(sa.select(Asset).order_by(Asset.id)).all()
    schema = AssetOutSchema()
    expected = [ma.Schema._serialize(schema, a) for a in assets]
    assert {a.category for a in assets} == set(Category)
    assert schema.dump(assets, many=True) == expected
    assert [schema.dump(a) for a in assets] == expected
    assert expected[-1]["deletion_reason"] == "录入重复" and expected[-1]["user_unit"] is None


def test_the_api_list_writes_each_asset_as_the_asset_endpoint_does(client, app, login):
    """The list's Core rows (ListedAsset) against the ORM asset: every category, a removed asset, no detail row."""
    from registry.assets.models import DETAIL_MODELS
    from registry.demo.inventory import seed_demo
    with app.app_context():
        seed_demo(120)
        removed, bare = db.session.scalars(sa.select(Asset).order_by(Asset.id.desc()).limit(2)).all()
        removed.deleted_at, removed.deletion_reason, removed.user_unit_id, removed.notes = (
            datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc), "录入重复", None, "备注")
        removed.condition_assessed_on = None
        db.session.execute(sa.delete(DETAIL_MODELS[bare.category].__table__).where(
            DETAIL_MODELS[bare.category].__table__.c.asset_id == bare.id))
        db.session.commit()
        removed_id, bare_id = removed.id, bare.id
    login("taskforce", None)
    listed, cursor = [], ""
    while cursor is not None:
        body = client.get(f"/api/v1/assets?deleted=1&limit=37&cursor={cursor}").get_json()
        listed += body["items"]
        cursor = body["next_cursor"] or None
    assert len(listed) == 120 and {a["category"] for a in listed} == {c.value for c in Category}
    for item in listed:
        assert item == client.get(f"/api/v1/assets/{item['id']}").get_json(), item["id"]
    by_id = {a["id"]: a for a in listed}
    assert by_id[removed_id]["deletion_reason"] == "录入重复" and by_id[removed_id]["user_unit"] is None
    assert all(v is None for v in by_id[bare_id]["detail"].values())
    assert any(a["user_unit"] and a["detail"]["elevator_type"] for a in listed if a["category"] == "elevator")
    one = client.get("/api/v1/assets?category=pipe&limit=5").get_json()["items"]
    assert len(one) == 5 and all(item == by_id[item["id"]] for item in one)
