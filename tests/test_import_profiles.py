"""Mapping profiles on the web: list, download, upload/replace (validated), rename, retire; keep-hidden box."""
from __future__ import annotations

import json

import sqlalchemy as sa

from registry.audit.models import AuditRecord
from registry.extensions import db
from registry.transfer.models import ImportProfile
from tests import ledgers
from tests.excel_helpers import multipart, upload


def _token(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"].split("/import/")[1].split("/")[0]


def _csrf(client) -> str:
    html = client.get("/assets/import/profiles").get_data(as_text=True)
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _post_json(client, body, replace=None, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    fields = {"csrf_token": _csrf(client)}
    if replace:
        fields["replace"] = str(replace)
    payload, content_type = multipart(fields, "方案.json", data)
    return client.post("/assets/import/profiles/upload", data=payload, content_type=content_type)


def _saved_profile(app, client) -> dict:
    """Import the elevator ledger through the web flow with a profile name; return the profile's JSON."""
    import html
    token = _token(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    form = {"sheet": "2024年电梯台账", "category": "elevator", "set-owner_unit": "新郑市住房和城乡建设局",
            "partial_dates": "first", "profile_name": "电梯台账方案"}
    text = client.post(f"/assets/import/{token}/preview", data=form).get_data(as_text=True)
    mapping_json = html.unescape(text.split('name="mapping_json" value="')[1].split('"')[0])
    done = client.post(f"/assets/import/{token}/confirm", data={
        "sheet": "2024年电梯台账", "category": "elevator", "mapping_json": mapping_json,
        "profile_name": "电梯台账方案"})
    assert "导入成功" in done.get_data(as_text=True)
    with app.app_context():
        profile_id = db.session.scalar(sa.select(ImportProfile.id))
    resp = client.get(f"/assets/import/profiles/{profile_id}.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json() | {"_id": profile_id}


def test_profiles_list_download_upload_replace_rename_delete(app, client, login):
    login("maintainer", "zjj")
    assert "还没有映射方案" in client.get("/assets/import/profiles").get_data(as_text=True)
    body = _saved_profile(app, client)
    profile_id = body.pop("_id")
    assert body["name"] == "电梯台账方案" and body["department"] == "zjj" and body["category"] == "elevator"
    assert body["columns"]["基本信息 / 设备代码"] == "code" and body["set"] == {"owner_unit": "新郑市住房和城乡建设局"}
    page = client.get("/assets/import/profiles").get_data(as_text=True)
    assert "电梯台账方案" in page and "下载 JSON" in page and "电梯" in page
    # Upload the same JSON under a new name: a second profile.
    resp = _post_json(client, dict(body, name="电梯方案（副本）"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    # Replace the first one with an edited copy: its name stays, its mapping changes.
    edited = dict(body, partial_dates="mid", name="别的名字")
    assert _post_json(client, edited, replace=profile_id).status_code == 302
    with app.app_context():
        first = db.session.get(ImportProfile, profile_id)
        assert first.name == "电梯台账方案" and first.mapping["partial_dates"] == "mid"
        assert db.session.scalar(sa.select(sa.func.count(ImportProfile.id))) == 2
    # Rename: a clash with a live profile is refused; a fresh name is kept.
    csrf = _csrf(client)
    clash = client.post(f"/assets/import/profiles/{profile_id}/rename", data={"csrf_token": csrf, "name": "电梯方案（副本）"})
    assert clash.status_code == 400 and "已有名为「电梯方案（副本）」" in clash.get_data(as_text=True)
    ok = client.post(f"/assets/import/profiles/{profile_id}/rename", data={"csrf_token": csrf, "name": "2024 电梯台账"})
    assert ok.status_code == 302
    assert client.post(f"/assets/import/profiles/{profile_id}/rename",
                       data={"csrf_token": csrf, "name": "  "}).status_code == 400
    # Delete retires it: gone from the list and no longer applied, but kept with an audit record.
    assert client.post(f"/assets/import/profiles/{profile_id}/delete", data={"csrf_token": csrf}).status_code == 302
    assert "2024 电梯台账" not in client.get("/assets/import/profiles").get_data(as_text=True)
    assert client.get(f"/assets/import/profiles/{profile_id}.json").status_code == 404
    with app.app_context():
        retired = db.session.get(ImportProfile, profile_id)
        assert retired.deleted_at is not None and retired.mapping["partial_dates"] == "mid"
        actions = set(db.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.action.like("import.profile.%"))))
        assert actions == {"import.profile.create", "import.profile.replace", "import.profile.rename",
                           "import.profile.delete"}
    # The copy still applies to the same header; the retired one does not.
    token = _token(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    text = client.get(f"/assets/import/{token}/mapping").get_data(as_text=True)
    assert "已套用映射方案「电梯方案（副本）」" in text


def test_uploaded_profiles_are_validated_and_other_departments_refused(app, client, login):
    login("maintainer", "zjj")
    body = _saved_profile(app, client)
    profile_id = body.pop("_id")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(ImportProfile.id)))
    cases = [
        (dict(body, department="nync"), 403, "属于其他部门"),
        (dict(body, columns={**body["columns"], "基本信息 / 注册代码": "code"}), 400, "都映射到「设备编码」"),
        (dict(body, columns={**body["columns"], "不存在的列": "name"}), 400, "不在 header 中"),
        (dict(body, columns={**body["columns"], "使用信息 / 小区": "colour"}), 400, "映射到未知字段「colour」"),
        (dict(body, values={"elevator_type": {"曳引式乘客电梯": "飞天梯"}}), 400, "不是有效选项"),
        (dict(body, set={"owner_unit": "新郑市住房和城乡建设局", "design_life_years": "很多"}), 400, "「设计使用年限（年）」的值"),
        (dict(body, partial_dates="sometimes"), 400, "partial_dates"),
        (dict(body, category="farm_machine"), 403, "不负责「农业机械」"),
        (dict(body, header="A"), 400, "header 应为"),
    ]
    for data, status, fragment in cases:
        resp = _post_json(client, data)
        assert resp.status_code == status and fragment in resp.get_data(as_text=True), (fragment, resp.status_code)
    for raw, fragment in [(b"\xff\xfe not json", "不是有效的 JSON"), (b"[1, 2]", "应为 JSON 对象"),
                          (b" " * (1024 * 1024 + 10), "超过 1 MB")]:
        resp = _post_json(client, None, raw=raw)
        assert resp.status_code == 400 and fragment in resp.get_data(as_text=True), fragment
    # Another department sees none of these and cannot touch them.
    login("maintainer", "nync")
    assert client.get(f"/assets/import/profiles/{profile_id}.json").status_code == 404
    csrf = _csrf(client)
    assert client.post(f"/assets/import/profiles/{profile_id}/delete", data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"/assets/import/profiles/{profile_id}/rename",
                       data={"csrf_token": csrf, "name": "x"}).status_code == 404
    assert _post_json(client, dict(body, department=None), replace=profile_id).status_code in (403, 404)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ImportProfile.id))) == before
        assert db.session.get(ImportProfile, profile_id).deleted_at is None


def test_keep_hidden_checkbox_on_the_mapping_page(app, client, login):
    login("maintainer", "zjj")
    token = _token(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    text = client.get(f"/assets/import/{token}/mapping").get_data(as_text=True)
    assert 'name="keep_hidden" value="1"' in text and "保留隐藏的行和列" in text
    assert "内部编号" in text and 'name="keep_hidden" value="1" checked' not in text
    kept = client.get(f"/assets/import/{token}/mapping?keep_hidden=1&sheet=2024年电梯台账").get_data(as_text=True)
    assert 'value="1" checked' in kept and '<input type="hidden" name="keep_hidden" value="1">' in kept
    # Kept, the hidden column K is suggested as an extra attribute and reaches the stored assets.
    form = {"sheet": "2024年电梯台账", "category": "elevator", "keep_hidden": "1",
            "set-owner_unit": "新郑市住房和城乡建设局", "partial_dates": "first"}
    preview = client.post(f"/assets/import/{token}/preview", data=form).get_data(as_text=True)
    assert "新建 4" in preview and '<input type="hidden" name="keep_hidden" value="1">' in preview
    import html
    mapping_json = html.unescape(preview.split('name="mapping_json" value="')[1].split('"')[0])
    assert json.loads(mapping_json)["columns"]["内部编号"] == "extra"
    done = client.post(f"/assets/import/{token}/confirm", data={
        "sheet": "2024年电梯台账", "category": "elevator", "mapping_json": mapping_json, "keep_hidden": "1"})
    assert "导入成功" in done.get_data(as_text=True)
    with app.app_context():
        from registry.assets.models import Asset
        extras = [a.extra for a in db.session.scalars(sa.select(Asset).order_by(Asset.id))]
        assert extras[0] == {"内部编号": "N1", "安全管理员": "张工"}
