"""Phone and desktop in a real browser: every maintainer and inspector page works at 390 × 844 and 1366 px.

At 390 px the navigation collapses behind a menu button (≤ 120 px tall until opened), nothing makes the
page scroll sideways (wide tables scroll inside their own box), buttons are thumb-sized, and the asset
page puts 状况评定 and the notice actions first. Screenshots go to REGISTRY_SCREENSHOT_DIR when set
(docs/screens/ holds the reviewed ones: `REGISTRY_SCREENSHOT_DIR=docs/screens pytest tests/test_phone_browser.py`).
"""
from __future__ import annotations

import os

import pytest

from registry.enums import Category
from tests.factories import TEST_PASSWORD, make_asset, make_unit, make_user
from tests.notice_factories import flagged_assets, issue_signed
from tests.live import chromium
from tests.test_inventory_browser import live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


@pytest.fixture
def world(app):
    """A 住建局 maintainer and inspector, elevators with long names, one served notice."""
    with app.app_context():
        make_user("maintainer", "zjj", username="phone-maint")
        make_user("inspector", "zjj", username="phone-insp")
        unit = make_unit("新郑市龙湖镇锦绣花园小区业主委员会（物业服务中心）", township="龙湖镇")
        asset = make_asset(Category.ELEVATOR, owner=unit, township="龙湖镇", code="XZ-DT-LH-000123",
                           name="锦绣花园小区十二号楼东单元客梯", address="龙湖镇文昌路与祥和街交叉口东北角锦绣花园小区12号楼",
                           detail={"registration_code": "31104101002015000017"})
        for i in range(12):
            make_asset(Category.ELEVATOR, owner=unit, township="龙湖镇", code=f"XZ-DT-LH-{i:06d}",
                       name=f"锦绣花园小区{i + 1}号楼电梯")
        [notice] = issue_signed(flagged_assets(3, unit=unit, category=Category.ELEVATOR), render=False)
        return {"asset": asset.id, "notice": notice.id}


@pytest.fixture
def browser():
    """A chromium browser driven by Playwright."""
    with chromium() as b:
        yield b


def _logged_in(browser, base, username, viewport):
    page = browser.new_page(viewport=viewport, locale="zh-CN", device_scale_factor=1,
                            is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _shot(page, name: str) -> None:
    folder = os.environ.get("REGISTRY_SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _check_page(page, url: str, name: str, width: int) -> None:
    resp = page.goto(url)
    assert resp.status == 200, (url, resp.status)
    sizes = page.evaluate("""() => ({
        scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth,
        nav: document.querySelector('header.topbar').getBoundingClientRect().height})""")
    # Against the device width itself: a mobile browser widens its layout viewport (innerWidth) to
    # fit content that overflows, so innerWidth alone would hide the overflow it should catch.
    assert sizes["scroll"] <= min(sizes["inner"], width), f"{name} at {width}px scrolls sideways: {sizes}"
    if width == PHONE["width"]:
        assert sizes["nav"] <= 120, f"{name}: header is {sizes['nav']}px tall on a phone"
        small = page.evaluate("""() => [...document.querySelectorAll('main button, main a.button, main input[type=submit]')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
            .filter(([t, h]) => h < 44)""")
        assert small == [], f"{name}: buttons under 44px on a phone: {small}"
    _shot(page, f"phone-{name}-{width}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1366"])
def test_maintainer_and_inspector_pages_fit_the_screen(browser, live_server, world, viewport):  # noqa: F811
    width = viewport["width"]
    maint = _logged_in(browser, live_server, "phone-maint", viewport)
    for path, name in (("/", "maintainer-home"), ("/assets/c/elevator", "asset-list"),
                       (f"/assets/{world['asset']}", "asset-detail-maintainer"), ("/assets/transfer", "import")):
        _check_page(maint, live_server + path, name, width)
    insp = _logged_in(browser, live_server, "phone-insp", viewport)
    for path, name in (("/", "inspector-home"), ("/notices/", "notices"),
                       (f"/notices/{world['notice']}", "notice-detail"),
                       (f"/assets/{world['asset']}", "asset-detail-inspector"),
                       (f"/assets/{world['asset']}/assess", "assess")):
        _check_page(insp, live_server + path, name, width)


def test_phone_menu_opens_and_closes_and_reaches_every_page(browser, live_server, world):  # noqa: F811
    page = _logged_in(browser, live_server, "phone-maint", PHONE)
    nav = page.locator("nav.mainnav")
    assert not nav.is_visible()
    page.click("button.menu-toggle")
    assert nav.is_visible()
    assert page.locator("button.menu-toggle").get_attribute("aria-expanded") == "true"
    _shot(page, "phone-menu-open-390")
    nav.locator("a", has_text="设备台账").first.click()
    page.wait_for_load_state()
    assert "/assets/" in page.url and not page.locator("nav.mainnav").is_visible()
    page.click("button.menu-toggle")
    page.click("button.menu-toggle")
    assert not page.locator("nav.mainnav").is_visible()


def test_phone_asset_page_puts_assessment_and_notice_actions_first(browser, live_server, world):  # noqa: F811
    page = _logged_in(browser, live_server, "phone-insp", PHONE)
    page.goto(f"{live_server}/assets/{world['asset']}")
    actions = page.locator(".page-head .actions").bounding_box()
    attrs = page.locator("h2", has_text="设备属性").bounding_box()
    assert actions["y"] < attrs["y"] and actions["y"] < 844 / 2  # on the first screen, above the attributes
    assess = page.locator("a.button", has_text="录入状况评定")
    assert assess.is_visible() and assess.bounding_box()["height"] >= 44
    assert page.locator("button", has_text="出具通知书").is_visible()
    assess.click()
    page.wait_for_load_state()
    photo = page.locator("input[type=file][name=photo]")
    assert photo.get_attribute("accept") == "image/*" and photo.get_attribute("capture") == "environment"
