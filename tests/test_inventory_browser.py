"""Browser test: log in, filter, open an asset, edit it (error first), and see the history."""
from __future__ import annotations

import os

import pytest

from registry import create_app
from registry.enums import Category
from tests.factories import TEST_PASSWORD, make_asset, make_unit, make_user
from tests.live import chromium, serving

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app, database_url):
    """Serve a CSRF-enabled app on a free loopback port, against the test database."""
    live = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "browser-secret", "RATELIMIT_ENABLED": False})
    with serving(live) as base:
        yield base


@pytest.fixture
def browser_page():
    """A chromium page driven by Playwright."""
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")


def _shot(page, tmp_path, name):
    folder = os.environ.get("REGISTRY_SCREENSHOT_DIR") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_login_filter_open_edit_and_see_history(app, live_server, browser_page, tmp_path):
    with app.app_context():
        make_user("maintainer", "zjj", username="zjj-browser")
        community = make_unit("锦绣小区业主委员会", township="龙湖镇")
        for i in range(3):
            make_asset(Category.ELEVATOR, owner=community, township="龙湖镇", code=f"XZ-DT-LH{i:03d}",
                       name=f"锦绣小区{i + 1}号楼电梯", detail={"floors": 11})
        make_asset(Category.ELEVATOR, code="XZ-DT-BQ001", township="八千乡")
    page = browser_page
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "zjj-browser")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.goto(f"{live_server}/assets/c/elevator")
    page.select_option("select[name=township]", "龙湖镇")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.assets tbody tr")
    assert rows.count() == 3 and "XZ-DT-BQ001" not in page.content()
    _shot(page, tmp_path, "01-list-filtered")

    page.click("text=XZ-DT-LH001")
    page.wait_for_selector("h2:has-text('设备属性')")
    assert "锦绣小区2号楼电梯" in page.content()
    _shot(page, tmp_path, "02-detail")

    page.click("a.button:has-text('编辑')")
    page.fill("#f-floors", "十一层")
    page.click("button:has-text('保存修改')")
    error = page.locator(".field.has-error .field-error")
    assert "层数：「十一层」不是数字" in error.first.inner_text()
    _shot(page, tmp_path, "03-edit-error")

    page.fill("#f-floors", "12")
    page.select_option("#f-condition_grade", label="较差")
    page.click("button:has-text('保存修改')")
    page.wait_for_selector("#history")
    history = page.locator("#history").inner_text()
    assert "层数" in history and "11" in history and "12" in history and "较差" in history
    assert "已保存" in page.content()
    _shot(page, tmp_path, "04-detail-history")
