"""QR asset labels: layouts, department scoping, the URL in the QR, and the scan -> login -> asset round trip."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from registry.assets import labels
from registry.audit.models import AuditRecord
from registry.enums import Category
from registry.errors import ValidationFailed
from registry.extensions import db
from tests.factories import TEST_PASSWORD, make_asset, make_user

BASE = "https://sbgx.xinzheng.example"


@pytest.fixture
def public_base(app):
    """Print QRs for a public address unlike the test client's host."""
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    return BASE


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _decode_qr(data_uri: str) -> str:
    """Read a label's QR back from its PNG with a real decoder."""
    import base64
    import zxingcpp
    from PIL import Image, ImageOps
    png = base64.b64decode(data_uri.split(",", 1)[1])
    image = ImageOps.expand(Image.open(io.BytesIO(png)).convert("L"), border=16, fill=255)  # quiet zone
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    return found[0].text


def test_asset_path_is_the_asset_page(app):
    with app.test_request_context():
        from flask import url_for
        assert labels.ASSET_PATH.format(id=42) == url_for("assets.detail", asset_id=42)


def test_layouts_lay_labels_out_and_bad_layouts_are_refused(ctx, public_base):
    assets = [make_asset(Category.ELEVATOR) for _ in range(7)]
    three = labels.build_sheet(assets, labels.parse_layout("3x8"))
    assert len(three.pages) == 1 and len(three.pages[0]) == 3  # 7 labels: rows of 3, 3, 1 (+2 blanks)
    assert [len(r) for r in three.pages[0]] == [3, 3, 3] and three.pages[0][2][1:] == [None, None]
    two = labels.build_sheet(assets, labels.parse_layout("2×5"))
    assert two.layout.key == "2x5" and len(two.pages) == 1 and [len(r) for r in two.pages[0]] == [2, 2, 2, 2]
    many = labels.build_sheet(assets * 4, labels.LAYOUTS["2x5"])
    assert len(many.pages) == 3 and many.count == 28
    with pytest.raises(ValidationFailed) as exc:
        labels.parse_layout("4x10")
    assert "标签规格" in exc.value.errors


def test_qr_payload_decodes_to_the_asset_page_under_the_public_base(ctx, public_base):
    asset = make_asset(Category.ELEVATOR, code="XZ-DT-QR-1", name="3号楼客梯")
    label = labels.build_sheet([asset], labels.LAYOUTS["3x8"]).pages[0][0][0]
    assert label.url == f"{BASE}/assets/{asset.id}"
    assert _decode_qr(label.qr) == f"{BASE}/assets/{asset.id}"
    assert (label.code, label.name, label.unit) == ("XZ-DT-QR-1", "3号楼客梯", asset.user_unit.name)


@pytest.mark.parametrize("layout,per_page", [("3x8", 24), ("2x5", 10)])
def test_ticked_assets_print_as_a_pdf_in_the_chosen_layout(client, login, app, public_base, layout, per_page):
    login("maintainer", "zjj")
    with app.app_context():
        ids = [make_asset(Category.ELEVATOR).id for _ in range(per_page + 1)]
    resp = client.post("/assets/labels.pdf", data={"ids": [str(i) for i in ids], "layout": layout,
                                                  "csrf_token": _csrf(client)})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert _pages(resp.data) == 2  # one label more than a sheet holds
    assert f"{layout}-{per_page + 1}" in resp.headers["Content-Disposition"]
    with app.app_context():
        rec = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "asset.labels")).one()
        assert f'"labels": {per_page + 1}' in rec.details and f'"layout": "{layout}"' in rec.details


def _csrf(client) -> str:
    page = client.get("/assets/c/elevator").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_another_departments_ids_are_refused_without_saying_which(client, login, app):
    login("maintainer", "wjw")  # 卫健委: medical devices
    with app.app_context():
        own = make_asset(Category.MEDICAL_DEVICE).id
        foreign = make_asset(Category.ELEVATOR, code="XZ-DT-SECRET").id  # 住建局's
    absent = foreign + 1000
    answers = []
    for other in (foreign, absent):
        resp = client.get(f"/assets/labels.pdf?ids={own}&ids={other}")
        assert resp.status_code == 404
        # The CSRF token in the page carries a timestamp: the one part allowed to differ.
        answers.append(re.sub(r'name="csrf_token" value="[^"]+"', "", resp.get_data(as_text=True)))
    assert answers[0] == answers[1]  # an existing foreign asset looks exactly like a missing one
    assert "XZ-DT-SECRET" not in answers[0]  # (and no id: the two answers name different ids)
    assert "1 台不存在或不在您的查看范围内" in answers[0]
    assert client.get(f"/assets/labels.pdf?ids={own}").status_code == 200
    with app.app_context():
        refusals = db.session.scalars(sa.select(AuditRecord).where(
            AuditRecord.action == "asset.labels", AuditRecord.outcome == "denied")).all()
        assert len(refusals) == 2


def test_filtered_list_is_scoped_bounded_and_explained(client, login, app, monkeypatch):
    login("maintainer", "zjj")
    with app.app_context():
        make_asset(Category.ELEVATOR, township="龙湖镇", code="XZ-DT-LH-1")
        make_asset(Category.ELEVATOR, township="龙湖镇", code="XZ-DT-LH-2")
        make_asset(Category.ELEVATOR, township="新村镇")
        make_asset(Category.MEDICAL_DEVICE, township="龙湖镇")  # 卫健委's: never on 住建局's labels
    resp = client.get("/assets/labels.pdf?category=elevator&township=龙湖镇&layout=2x5")
    assert resp.status_code == 200
    from pypdf import PdfReader
    text = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert "XZ-DT-LH-1" in text and "XZ-DT-LH-2" in text and text.count("XZ-") == 2
    resp = client.get("/assets/labels.pdf?township=龙湖镇")  # every category: still only 住建局's
    assert resp.status_code == 200 and PdfReader(io.BytesIO(resp.data)).pages[0].extract_text().count("XZ-") == 2
    monkeypatch.setattr(labels, "MAX_LABELS", 2)
    resp = client.get("/assets/labels.pdf?category=elevator")
    assert resp.status_code == 422
    assert "超过单个标签文件的上限 2 张" in resp.get_data(as_text=True)
    assert client.get("/assets/labels.pdf?category=elevator&township=没有这个镇").status_code == 422
    assert client.get("/assets/labels.pdf?category=飞机").status_code == 422
    assert client.get("/assets/labels.pdf?ids=abc").status_code == 422
    assert client.get("/assets/labels.pdf?layout=9x9").status_code == 422


def test_scanning_a_label_logs_in_and_lands_on_the_asset(client, app):
    with app.app_context():
        asset_id = make_asset(Category.ELEVATOR).id
        name = make_user("inspector", "zjj").username
    path = labels.ASSET_PATH.format(id=asset_id)
    resp = client.get(path)  # what the phone opens after scanning
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    assert "/login" in login_url and "next=" in login_url
    page = client.get(login_url)
    assert page.status_code == 200
    resp = client.post(login_url, data={"username": name, "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(path)
    assert client.get(resp.headers["Location"]).status_code == 200


def test_list_page_offers_selection_and_filtered_labels(client, login, app):
    login("inspector", "zjj")
    with app.app_context():
        make_asset(Category.ELEVATOR, township="龙湖镇")
    html = client.get("/assets/c/elevator?township=龙湖镇").get_data(as_text=True)
    assert 'class="row-select"' in html  # an inspector ticks assets too (labels, not bulk edits)
    assert 'formaction="/assets/labels.pdf"' in html
    assert 'id="filtered-labels"' in html and 'name="township" value="龙湖镇"' in html
    assert "批量修改所选设备" not in html


def test_printed_sheet_scans_back_to_every_asset(ctx, public_base, tmp_path):
    """Audit the print itself: rasterise page 1 as a printer would and read every QR on it."""
    import subprocess
    import zxingcpp
    from PIL import Image
    from registry.pdf import render_pdf
    assets = [make_asset(Category.ELEVATOR) for _ in range(5)]
    sheet = labels.build_sheet(assets, labels.LAYOUTS["3x8"])
    (tmp_path / "l.pdf").write_bytes(render_pdf("pdf/labels.html", {"sheet": sheet}, stylesheet="labels.css"))
    subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-singlefile", "-png",
                    str(tmp_path / "l.pdf"), str(tmp_path / "page")], check=True)
    found = {b.text for b in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))}
    assert found == {f"{BASE}/assets/{a.id}" for a in assets}
