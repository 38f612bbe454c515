"""Notice PDFs: embedded subset fonts, no missing glyphs, expected Chinese text, GB/T 9704 details."""
from __future__ import annotations

import subprocess
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from registry import pdf
from registry.errors import ValidationFailed
from registry.notices.models import DocumentCounter, Notice
from registry.notices.printing import render_notice
from tests.notice_factories import issue_signed
from tests.factories import make_unit
from tests.notice_factories import flagged_assets


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "n.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _fonts(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "f.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()[2:]]


def test_font_subsets_cover_gb2312_and_official_punctuation():
    cover = pdf.shipped_coverage()
    for ch in "〔〕—、，。：；「」《》（）0123456789ABCxyz新郑市住房和城乡建设局报废淘汰":
        assert ord(ch) in cover, ch
    for path in (pdf.SERIF_REGULAR, pdf.SERIF_BOLD):
        assert path.stat().st_size < 5 * 1024 * 1024
    assert (pdf.FONT_DIR / "LICENSE-OFL.txt").read_text().count("SIL OPEN FONT LICENSE") == 1


def test_single_asset_notice_text_fonts_and_glyphs(ctx, tmp_path):
    unit = make_unit(name="新郑市龙湖镇建设投资有限公司", township="龙湖镇")
    [item] = flagged_assets(1, unit=unit, name="塔式起重机（徐工）")
    [notice] = issue_signed([item], issued_on=date(2025, 7, 16))
    data = render_notice(notice)
    text = _text(data, tmp_path)
    flat = "".join(text.split())
    for expected in ("新郑市住房和城乡建设局文件", "新建更〔2025〕1号", "关于设备强制更新的通知书",
                     "新郑市龙湖镇建设投资有限公司：", "塔式起重机（徐工）", "新政〔2024〕3号二（三）8",
                     "2026年12月31日", "2025年7月16日", "—1—", "设备更新科0371-62691234"):
        assert expected in flat, expected
    assert "附件" not in flat  # a single asset fills the body
    # Only the two shipped subset faces are embedded: nothing fell back to another font.
    assert sorted(f.split("+", 1)[1] for f in _fonts(data, tmp_path)) == ["GW-Serif", "GW-Serif-Bold"]
    # Every character drawn is in the subset's cmap (no missing-glyph boxes), and the PDF text maps back.
    assert pdf.uncovered(text) == set()
    assert "\ufffd" not in text
    assert len(PdfReader(BytesIO(data)).pages) == 1


def test_page_geometry_is_a4_and_rendering_is_deterministic(ctx):
    items = flagged_assets(4)
    [notice] = issue_signed(items, issued_on=date(2025, 7, 16))
    first, second = render_notice(notice), render_notice(notice)
    assert first == second
    reader = PdfReader(BytesIO(first))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    # The annex is a landscape table page after the body.
    annex = reader.pages[-1].mediabox
    assert round(float(annex.width) / 72 * 25.4) == 297
    assert "/CreationDate" not in (reader.metadata or {})


def test_multi_asset_notice_has_annex_with_every_asset(ctx, tmp_path):
    items = flagged_assets(3)
    [notice] = issue_signed(items, issued_on=date(2025, 7, 16))
    flat = "".join(_text(render_notice(notice), tmp_path).split())
    assert "等3台设备（详见附件）" in flat and "附件：设备清单" in flat
    for it in items:
        assert it.asset.code in flat
    assert "—2—" in flat


def test_rare_character_uses_system_fallback_and_is_reported(ctx, tmp_path, caplog):
    if not pdf.SYSTEM_FALLBACK.exists():
        pytest.skip("system Noto Serif CJK not installed")
    unit = make_unit(name="郑州堃垚建材有限公司")  # 堃 and 垚 are outside GB2312
    [notice] = issue_signed(flagged_assets(1, unit=unit), issued_on=date(2025, 7, 16))
    text = _text(render_notice(notice), tmp_path)
    assert "郑州堃垚建材有限公司" in "".join(text.split())
    assert "堃" in caplog.text  # the fallback is reported in the log


def test_undrawable_character_is_rejected_and_consumes_no_number(ctx):
    unit = make_unit(name="测试\U000f0001单位")  # a private-use character no font draws
    with pytest.raises(ValidationFailed) as err:
        issue_signed(flagged_assets(1, unit=unit), issued_on=date(2025, 7, 16))
    assert "无法打印的字符" in err.value.message
    from registry.extensions import db
    db.session.rollback()
    assert db.session.query(Notice).count() == 0
    assert db.session.query(DocumentCounter).count() == 0


@pytest.fixture
def http_probe():
    """A local HTTP server that counts the requests it gets (nothing should reach it)."""
    import http.server
    import threading
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _fetched_urls(monkeypatch) -> list[str]:
    """Record every URL WeasyPrint's own fetcher is asked to open (ours only passes allowed ones on)."""
    from weasyprint.urls import URLFetcher
    seen: list[str] = []
    original = URLFetcher.fetch

    def spy(self, url, headers=None):
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(URLFetcher, "fetch", spy)
    return seen


def test_pdf_rendering_fetches_no_file_or_url_outside_the_registry(app, ctx, tmp_path, http_probe, monkeypatch):
    from jinja2 import ChoiceLoader, DictLoader
    base, hits = http_probe
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    link = tmp_path / "seals" / "link.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/etc/passwd")  # inside an allowed folder, pointing out of it
    hostile = (f'<link rel="stylesheet" href="{base}/evil.css"><style>@import url("{base}/import.css");'
               f'p {{ background: url("{base}/bg.png") }}</style>'
               f'<p>x</p><img src="file:///etc/passwd"><img src="file://localhost/etc/passwd">'
               f'<img src="{secret.as_uri()}"><img src="{link.as_uri()}"><img src="{base}/leak.png">'
               f'<img src="ftp://127.0.0.1/x.png"><img src="../../../../../../etc/passwd">')
    app.jinja_loader = ChoiceLoader([DictLoader({"pdf/hostile.html": hostile}), app.jinja_loader])
    seen = _fetched_urls(monkeypatch)
    data = pdf.render_pdf("pdf/hostile.html", {}, resource_dirs=(tmp_path / "seals",))
    assert data.startswith(b"%PDF")
    assert hits == []  # no HTTP request left the renderer
    assert not [u for u in seen if "passwd" in u or "secret" in u or u.startswith(("http", "ftp"))], seen


def test_resource_fetcher_serves_only_static_seals_and_data_uris(ctx, tmp_path):
    seals = tmp_path / "seals"
    seals.mkdir()
    (seals / "zjj.png").write_bytes(b"seal")
    fetch = pdf.resource_fetcher((seals,))
    assert fetch((seals / "zjj.png").as_uri()).read() == b"seal"
    assert fetch(pdf.SERIF_REGULAR.as_uri()).read(4) == pdf.SERIF_REGULAR.read_bytes()[:4]
    assert fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in ("file:///etc/passwd", (seals / ".." / ".." / "x").as_uri(), "http://127.0.0.1:9/x",
                "https://example.org/x.png", "file://otherhost/etc/passwd", (seals / "missing.png").as_uri()):
        with pytest.raises(pdf.RefusedResource):
            fetch(url)


def test_seal_is_embedded_through_the_fetcher(ctx, tmp_path):
    """A notice with a seal still renders its seal image (the seal folder is allowed for notices)."""
    from PIL import Image
    from registry.notices.seals import upload_seal
    from registry.orgs.models import Department
    from registry.extensions import db
    import sqlalchemy as sa
    buf = BytesIO()
    Image.new("RGBA", (120, 120), (210, 0, 0, 255)).save(buf, format="PNG")
    zjj = db.session.scalar(sa.select(Department).where(Department.code == "zjj"))
    upload_seal(zjj, buf.getvalue(), None)
    db.session.commit()
    [notice] = issue_signed(flagged_assets(1), issued_on=date(2025, 7, 16))
    reader = PdfReader(BytesIO(render_notice(notice)))
    images = [img for page in reader.pages for img in page.images]
    assert len(images) >= 2  # the QR code (data: URI) and the seal (file under the seal folder)
