"""Notice pages and API: verification, downloads, printing, templates, seals, roles and scoping."""
from __future__ import annotations

import io
import subprocess
from datetime import date

import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader

from registry import create_app
from registry.audit.models import AuditRecord
from registry.extensions import db
from registry.notices import lifecycle
from registry.notices.models import Notice, NoticeTemplate
from tests.notice_factories import issue_signed
from registry.notices.storage import notices_dir
from tests.factories import make_unit, make_user
from tests.notice_factories import flagged_assets

DAY = date(2025, 7, 16)


def _issue(app, n=1, township="新建路街道", render=True, **kw):
    with app.app_context():
        [notice] = issue_signed(flagged_assets(n, township=township, **kw), issued_on=DAY, render=render)
        return notice.id, notice.token, notice.number


def _audits(app, action):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == action))


def test_verify_page_is_public_and_shows_the_notice_facts_but_no_asset_data(app, client):
    notice_id, token, number = _issue(app, 2)
    resp = client.get(f"/verify/{token}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "真实有效" in html and number in html and "新郑市住房和城乡建设局" in html and "已下达" in html
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        names, codes, unit = [i.asset_name for i in notice.items], [i.asset_code for i in notice.items], \
            notice.owner_unit.name
    assert all(n in html for n in names)
    # What the paper says, so the person holding it can compare: addressee, 发文日期, deadline.
    assert unit in html and "2025年7月16日" in html and "2026年12月31日" in html and "主送（产权单位）" in html
    assert not any(c in html for c in codes) and "投入使用" not in html
    missing = client.get("/verify/" + "x" * 32)
    assert missing.status_code == 404 and "未找到该通知书" in missing.get_data(as_text=True)


def test_verify_shows_voided_status(app, client):
    notice_id, token, _ = _issue(app, render=False)
    with app.app_context():
        lifecycle.void(db.session.get(Notice, notice_id), None, "错发")
    assert "该通知书已作废" in client.get(f"/verify/{token}").get_data(as_text=True)


def test_verify_is_rate_limited(database_url):
    limited = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                          "RATELIMIT_ENABLED": True, "VERIFY_RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    codes = [client.get("/verify/rate-limit-probe").status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]
    assert "请求过于频繁" in client.get("/verify/rate-limit-probe").get_data(as_text=True)
    with limited.app_context():
        db.engine.dispose()


def test_download_is_the_stored_file_byte_identical_and_audited(app, client, login):
    notice_id, _, number = _issue(app)
    login("inspector", "zjj")
    first = client.get(f"/notices/{notice_id}/pdf")
    second = client.get(f"/api/v1/notices/{notice_id}/pdf")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and first.data.startswith(b"%PDF")
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert (notices_dir() / notice.pdf_path).read_bytes() == first.data
        # Re-rendering gives the same bytes too (deterministic output).
        from registry.notices.printing import render_notice
        assert render_notice(notice) == first.data
    assert _audits(app, "notice.download") == 2


def test_other_departments_and_admins_cannot_read_notices(app, client, login):
    notice_id, _, _ = _issue(app, render=False)
    login("inspector", "nync")
    assert client.get(f"/notices/{notice_id}").status_code == 404
    assert client.get(f"/api/v1/notices/{notice_id}").status_code == 404
    assert client.get("/api/v1/notices/").get_json() == {"items": [], "next_cursor": None}
    client.post("/logout")
    login("sysadmin", None)
    assert client.get("/notices/").status_code == 403


def test_batch_print_merges_new_notices_in_township_order(app, client, login):
    ids = [_issue(app, township=t, render=False)[0] for t in ("薛店镇", "和庄镇", "新建路街道")]
    login("inspector", "zjj")
    resp = client.post("/notices/print", data={"status": "issued", "unprinted": "1"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    firsts = [p.extract_text() for p in reader.pages]
    with app.app_context():
        expected = [db.session.get(Notice, i) for i in ids]
        expected.sort(key=lambda n: n.township)
        numbers = [n.number for n in expected]
        assert all(n.printed_at is not None for n in expected)
    page_numbers = [next((num for num in numbers if num in text), None) for text in firsts]
    assert [n for n in page_numbers if n] == numbers
    assert _audits(app, "notice.print") == 1
    again = client.post("/notices/print", data={"status": "issued", "unprinted": "1"})
    assert again.status_code == 422  # nothing new left to print


def test_template_with_unknown_placeholder_is_rejected_and_issued_text_is_kept(app, client, login):
    notice_id, _, _ = _issue(app, render=False)
    login("taskforce", None)
    assert client.get("/notices/templates").status_code == 200
    bad = client.post("/notices/templates", data={"outcome": "mandatory_renewal", "title": "通知",
                                                  "body": "请{产权单位}于{地址}前整改"})
    assert bad.status_code == 422 and "未知占位符 {地址}" in bad.get_data(as_text=True)
    with app.app_context():
        tpl = db.session.scalar(sa.select(NoticeTemplate).where(NoticeTemplate.outcome == "mandatory_renewal"))
        assert tpl.version == 1 and "{地址}" not in tpl.body
        old_body = db.session.get(Notice, notice_id).body
    ok = client.post("/notices/templates", data={"outcome": "mandatory_renewal", "title": "关于{设备}更新的通知",
                                                 "body": "请{产权单位}于{期限}前完成{设备}的更新。"})
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(Notice, notice_id).body == old_body
        [new] = issue_signed(flagged_assets(1), issued_on=DAY, render=False)
        assert new.body.startswith("请测试单位") and "2026年12月31日前完成" in new.body
        assert new.template_version == 2
    assert _audits(app, "notice.template.update") == 1


def test_maintainer_uploads_seal_used_on_later_notices(app, client, login):
    login("maintainer", "zjj")
    assert client.post("/notices/seal", data={"file": (io.BytesIO(b"not an image"), "seal.png")},
                       content_type="multipart/form-data").status_code == 422
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    from PIL import ImageDraw
    ImageDraw.Draw(img).ellipse((10, 10, 290, 290), outline=(210, 0, 0, 255), width=12)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    resp = client.post("/notices/seal", data={"file": (io.BytesIO(buf.getvalue()), "seal.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    assert client.get("/notices/seal/image").status_code == 200
    notice_id, _, _ = _issue(app)
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert notice.seal_id is not None
        page = PdfReader(notices_dir() / notice.pdf_path).pages[0]
        assert len(page.images) == 2  # the QR code and the seal
    assert _audits(app, "notice.seal.upload") == 1


def test_api_lifecycle_and_errors_as_json(app, client, login):
    notice_id, _, number = _issue(app, render=False)
    login("inspector", "zjj")
    listed = client.get("/api/v1/notices/?status=issued").get_json()["items"]
    assert [n["number"] for n in listed] == [number]
    detail = client.get(f"/api/v1/notices/{notice_id}").get_json()
    assert detail["items"][0]["citation"] == "新政〔2024〕3号 二（三）8" and "经核查" in detail["body"]
    bad = client.post(f"/api/v1/notices/{notice_id}/complete", json={"kind": "scrap_certificate"})
    assert bad.status_code == 422 and "报废证明编号" in bad.get_json()["message"]
    ok = client.post(f"/api/v1/notices/{notice_id}/serve", json={"served_on": DAY.isoformat(), "recipient": "王建国"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "served"
    again = client.post(f"/api/v1/notices/{notice_id}/serve", json={"served_on": DAY.isoformat(), "recipient": "王"})
    assert again.status_code == 409
    assert client.post(f"/api/v1/notices/{notice_id}/void", json={"reason": "x"}).status_code == 403


def test_html_serve_form_error_shows_message_and_changes_nothing(app, client, login):
    notice_id, _, _ = _issue(app, render=False)
    login("inspector", "zjj")
    resp = client.post(f"/notices/{notice_id}/serve", data={"served_on": "2025-13-40", "recipient": "王建国"})
    assert resp.status_code == 422 and "不是有效日期" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Notice, notice_id).served_on is None
    assert client.get(f"/notices/{notice_id}").status_code == 200
    assert client.get("/notices/").status_code == 200


def test_cli_render_writes_each_notice_and_a_merged_pdf(app, runner, tmp_path):
    _issue(app, township="薛店镇", render=False)
    _issue(app, township="和庄镇")
    out = tmp_path / "out"
    result = runner.invoke(args=["registry", "notices", "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["merged.pdf", "和庄镇-新建更〔2025〕2号.pdf", "薛店镇-新建更〔2025〕1号.pdf"]
    text = subprocess.run(["pdftotext", str(out / "merged.pdf"), "-"], capture_output=True, text=True).stdout
    assert text.index("新建更〔2025〕2号") < text.index("新建更〔2025〕1号")  # 和庄镇 before 薛店镇
