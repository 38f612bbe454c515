"""Screenshot the public verification page at phone (390 px) and desktop (1366 px) widths.

    python bench/verify_screens.py --out docs/screens

Builds a scratch SQLite registry with one signed notice, serves it on 127.0.0.1 and drives the
system chromium through Playwright.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import fresh_app  # noqa: E402
from tests.live import chromium, serving  # noqa: E402


def main() -> None:
    """Seed one signed notice, serve the app, and write verify-390.png and verify-1366.png."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/screens", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="verify-screens-"))
    app = fresh_app(f"sqlite:///{tmp / 'r.db'}", SECRET_KEY="screens", RATELIMIT_ENABLED=False,
                    NOTICE_FILES_DIR=str(tmp / "n"), SEAL_FILES_DIR=str(tmp / "s"))
    with app.app_context():
        from tests.factories import make_unit
        from tests.notice_factories import flagged_assets, issue_signed
        unit = make_unit(name="新郑市龙湖镇建设投资有限公司", township="龙湖镇")
        [notice] = issue_signed(flagged_assets(3, unit=unit), issued_on=date(2025, 7, 16), render=False)
        token = notice.token
    args.out.mkdir(parents=True, exist_ok=True)
    with serving(app) as base, chromium() as browser:
        url = f"{base}/verify/{token}"
        for width, height in ((390, 844), (1366, 768)):
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            page.goto(url)
            page.screenshot(path=str(args.out / f"verify-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            print(f"{width}px: page scroll width {scroll}px")
            page.close()


if __name__ == "__main__":
    main()
