"""Browser test: a rule-change impact preview over a large scope goes through the task page to its result
page, at 1366 and 390 px (screenshots in REGISTRY_SCREENSHOT_DIR)."""
from __future__ import annotations

import re

import pytest

from registry import create_app
from tests.factories import TEST_PASSWORD, make_user
from tests.live import serving
from tests.test_inventory_browser import _shot, browser_page  # noqa: F401 - fixtures
from tests.test_rules_impact import SEVEN_YEARS, fleet  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def task_server(fleet, database_url):  # noqa: F811
    """Serve a CSRF-enabled app that sends every preview to the task queue and runs it at once."""
    live = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "browser-secret", "RATELIMIT_ENABLED": False,
                       "TASKS_IMMEDIATE": True, "IMPACT_INLINE_ASSETS": 0})
    with serving(live) as base:
        yield base


@pytest.mark.parametrize("width", [1366, 390])
def test_preview_goes_through_the_task_page_to_its_result(fleet, task_server, browser_page, tmp_path,  # noqa: F811
                                                          width):
    with fleet.app_context():
        make_user("taskforce", None, username=f"tf-impact-{width}")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{task_server}/login")
    page.fill("input[name=username]", f"tf-impact-{width}")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{task_server}/")
    page.goto(f"{task_server}/rules/XZ-12/edit")
    page.fill("textarea[name=params]", SEVEN_YEARS)
    page.fill("input[name=as_of]", "2024-06-01")
    page.click("button[value=preview]")
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    assert "已完成" in page.inner_text("#task")
    _shot(page, tmp_path, f"rules-impact-task-{width}")
    page.click("#task-result")  # a finished task's page links to its result (a running one opens it itself)
    page.wait_for_url(re.compile(r".*/rules/XZ-12/impact/\d+#impact$"))
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "影响预览（评估日期 2024-06-01，未保存）" in text and "新增命中 9 台" in text, text[:2000]
    assert "对比现行第 1 版" in text
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    _shot(page, tmp_path, f"rules-impact-result-{width}")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
