"""The replacement form that registers the new asset, in a real browser at 1366 and 390 px.

The clerk opens 同时登记新设备 from the old asset's page, fills the replacement and the new asset, and
is sent back to the old asset, now 已更新; a mistake re-shows the form with the red text beside the field.
Screenshots go to REGISTRY_SCREENSHOT_DIR when set (reviewed ones: docs/screens/replacement-new-asset-*).
"""
from __future__ import annotations

import pytest

from registry import clock
from registry.enums import Category
from tests.factories import make_asset, make_user
from tests.test_inventory_browser import live_server  # noqa: F401  (fixture)
from tests.test_phone_browser import DESKTOP, PHONE, _logged_in, _shot, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def old_asset(app):
    """A 住建局 maintainer and one of its construction machines, due for renewal."""
    with app.app_context():
        make_user("maintainer", "zjj", username="repl-maint")
        asset = make_asset(Category.CONSTRUCTION_MACHINE, code="XZ-GC-2009-0042", name="老旧履带式挖掘机（2009 年购置）")
        return asset.id


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_new_asset_replacement_form_fits_and_works(browser, live_server, old_asset, viewport):  # noqa: F811
    width = viewport["width"]
    page = _logged_in(browser, live_server, "repl-maint", viewport)
    page.goto(f"{live_server}/assets/{old_asset}")
    page.click("text=登记更新记录（本设备被替换）")
    page.click("#tab-new-asset")
    assert page.locator("legend", has_text="新设备 · 基本信息").is_visible()

    def fits() -> None:
        scroll = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert scroll <= width, f"the form scrolls sideways at {width}px ({scroll})"

    fits()
    _shot(page, f"replacement-new-asset-{width}")
    page.fill("#f-replaced_on", clock.today().isoformat())
    page.fill("#f-investment_yuan", "-5")
    page.select_option("#f-funding_source", label="超长期特别国债")
    page.fill("[id='f-new_asset.code']", f"XZ-GC-NEW-{width}")
    page.fill("[id='f-new_asset.name']", "新购电动挖掘机")
    page.select_option("[id='f-new_asset.machine_type']", label="挖掘机")
    with page.expect_navigation():
        page.click("form.asset-form button[type=submit]")
    assert page.locator(".field.has-error", has_text="须大于 0").is_visible()
    assert page.input_value("[id='f-new_asset.code']") == f"XZ-GC-NEW-{width}"  # nothing typed is lost
    fits()
    _shot(page, f"replacement-new-asset-error-{width}")
    page.fill("#f-investment_yuan", "1,380,000")
    page.click("form.asset-form button[type=submit]")
    page.wait_for_url(f"{live_server}/assets/{old_asset}#records")
    assert page.locator(".flash", has_text=f"已登记新设备 XZ-GC-NEW-{width}").is_visible()
    assert page.locator("#records", has_text=f"XZ-GC-NEW-{width}").is_visible()
