"""Browser test: the messy elevator ledger through upload → mapping → preview → confirm, with screenshots."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from registry.assets.models import Asset
from registry.extensions import db
from tests import factories, ledgers
from tests.live import chromium

pytestmark = pytest.mark.browser
ROOT = os.path.dirname(os.path.dirname(__file__))
SCREENS = os.path.join(ROOT, "docs", "screens")
WIDTHS = (1366, 390)


def _shoot(page, name: str) -> None:
    """Save the page at each width; nothing may stick out sideways beyond its scrolling tables."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        page.screenshot(path=os.path.join(SCREENS, f"ledger-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width}px is {overflow}px wider than the window"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_messy_elevator_ledger_through_the_web_flow(app, live_server, tmp_path):
    with app.app_context():
        factories.make_user("maintainer", "zjj", username="ledger-zjj")
    ledger_path = tmp_path / "电梯台账.xlsx"
    ledger_path.write_bytes(ledgers.elevator_ledger())
    os.makedirs(SCREENS, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        page.goto(live_server + "/login")
        page.fill("input[name=username]", "ledger-zjj")
        page.fill("input[name=password]", factories.TEST_PASSWORD)
        page.click("button[type=submit]")
        page.goto(live_server + "/assets/transfer")
        page.set_input_files("#import-file", str(ledger_path))
        page.click("text=上传并导入")
        page.wait_for_selector("#mapping-form")
        found = page.inner_text("#table-found")
        assert "表头在第 3、4 行" in found and "数据 4 行" in found
        assert "必填字段「产权单位」没有对应的列" in page.inner_text("#mapping-problems")
        assert page.locator("select[aria-label='F 列导入为']").input_value() == "rated_load_kg"
        _shoot(page, "mapping")

        page.fill("input[name='set-owner_unit']", "新郑市住房和城乡建设局")
        page.fill("input[name=profile_name]", "住建局电梯台账")
        page.click("text=预览")
        page.wait_for_selector("#preview-counts")
        assert "新建 4，修改 0，未变 0" in page.inner_text("#preview-counts")
        rows = page.locator("#preview-rows tbody tr").all_inner_texts()
        assert len(rows) == 4 and "2015-06-01" in rows[0] and "郑州奥的斯电梯维保有限公司" in rows[0]
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0  # the preview wrote nothing
        _shoot(page, "preview")

        page.click("text=确认导入（全部写入）")
        page.wait_for_selector("#import-result")
        assert "导入成功" in page.inner_text("#import-result")
    with app.app_context():
        assets = {a.elevator.registration_code: a for a in db.session.scalars(sa.select(Asset))}
        assert set(assets) == {"豫AT0001", "豫AT0002", "豫AT0003", "豫AT0004"}
        first = assets["豫AT0001"]
        assert first.code == "31104101002015060001" and first.owner_unit.name == "新郑市住房和城乡建设局"
        assert first.elevator.rated_load_kg == 1000 and first.elevator.serves_housing is True
        assert first.extra == {"安全管理员": "张工"}
