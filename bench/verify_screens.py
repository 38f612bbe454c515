"""Screenshot the public verification page at phone (390 px) and desktop (1366 px) widths.

    python bench/verify_screens.py --out docs/screens

Builds a scratch SQLite registry with one signed notice, serves it on 127.0.0.1 and drives the
system chromium through Playwright.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry import create_app  # noqa: E402


def main() -> None:
    """Seed one signed notice, serve the app, and write verify-390.png and verify-1366.png."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/screens", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="verify-screens-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'r.db'}", "SECRET_KEY": "screens", "RATELIMIT_ENABLED": False,
                      "NOTICE_FILES_DIR": str(tmp / "n"), "SEAL_FILES_DIR": str(tmp / "s")})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        from registry.orgs.reference import ensure_reference_data
        ensure_reference_data()
        from tests.factories import make_unit
        from tests.notice_factories import flagged_assets, issue_signed
        unit = make_unit(name="新郑市龙湖镇建设投资有限公司", township="龙湖镇")
        [notice] = issue_signed(flagged_assets(3, unit=unit), issued_on=date(2025, 7, 16), render=False)
        token = notice.token
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/verify/{token}"
    from playwright.sync_api import sync_playwright
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for width, height in ((390, 844), (1366, 768)):
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            page.goto(url)
            page.screenshot(path=str(args.out / f"verify-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            print(f"{width}px: page scroll width {scroll}px")
            page.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
