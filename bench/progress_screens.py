"""Screenshot the progress dashboard and the 2023 baselines page at 1366 and 390 px; render the meeting PDF.

    python bench/progress_screens.py --out docs/screens

Builds a scratch SQLite registry with the demo inventory (5,000 assets, its 2024–2026 disposals and
replacements and demo baselines) and the plan's targets, serves it on 127.0.0.1, logs in a task-force
member and drives the system chromium through Playwright. The PDF is written beside the PNGs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import fresh_app  # noqa: E402
from tests.live import chromium, serving  # noqa: E402


def main() -> None:
    """Seed the demo, serve the app, and write progress-*.png, baselines-*.png and progress-report.pdf."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/screens", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="progress-screens-"))
    app = fresh_app(f"sqlite:///{tmp / 'r.db'}", SECRET_KEY="screens", RATELIMIT_ENABLED=False,
                    NOTICE_FILES_DIR=str(tmp / "n"), SEAL_FILES_DIR=str(tmp / "s"))
    with app.app_context():
        from registry.demo.inventory import seed_demo
        from registry.planning.reference import ensure_planning_reference
        from tests.factories import TEST_PASSWORD, make_user
        ensure_planning_reference()
        seed_demo(5000)
        name = make_user("taskforce", None).username
    args.out.mkdir(parents=True, exist_ok=True)
    with serving(app) as base, chromium() as browser:
        for width, height in ((1366, 768), (390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", TEST_PASSWORD)
            page.click("button[type=submit]")
            for path, shot in (("/plans/progress", "progress"), ("/plans/baselines", "baselines")):
                page.goto(base + path)
                page.screenshot(path=str(args.out / f"{shot}-{width}.png"), full_page=True)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                print(f"{shot} {width}px: page scroll width {scroll}px")
                wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                                 && !e.closest('.table-scroll, table.grid'))
                    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
                if wide:
                    print("  wider than the window:", wide)
            if width == 1366:
                pdf = context.request.get(f"{base}/plans/progress/report.pdf")
                (args.out / "progress-report.pdf").write_bytes(pdf.body())
            context.close()


if __name__ == "__main__":
    main()
