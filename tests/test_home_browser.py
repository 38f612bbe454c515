"""Browser test: every role's home page at 1366 px lists its work (screenshots in REGISTRY_SCREENSHOT_DIR)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry import clock
from registry.enums import Category, ConditionGrade, Role
from registry.extensions import db
from tests.factories import TEST_PASSWORD, make_asset, make_user
from tests.test_inventory_browser import _shot, browser_page, live_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

# What each role's home page must show (one line of its own work).
EXPECTED = {
    Role.MAINTAINER: "缺少「投入使用日期」", Role.INSPECTOR: "待送达的通知书", Role.DEPT_HEAD: "待签发的通知书草稿",
    Role.TASKFORCE: "进度落后于目标", Role.SYSADMIN: "已锁定的账户", Role.SECADMIN: "当前安全策略",
    Role.AUDITOR: "审计记录哈希链完整",
}


def _seed(app):
    from registry.notices.services import draft_notices, sign_notices
    from registry.notices.sources import mandatory_items
    from registry.planning import services as plans
    from registry.planning.reference import ensure_planning_reference
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs
    from registry.snapshots.services import build_snapshot
    with app.app_context():
        seed_packs()
        ensure_planning_reference()
        for i in range(3):
            make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2004 + i, 3, 1),
                       condition_grade=ConditionGrade.POOR, condition_assessed_on=date(2021, 4, 1))
            make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=None, manufactured_on=None)
            make_asset(Category.ELEVATOR, commissioned_on=date(2003, 6, 1), condition_grade=ConditionGrade.BAD)
        evaluate_inventory(clock.today())
        build_snapshot("home-browser", clock.today())
        db.session.commit()
        users = {r: make_user(r.value, "zjj" if r in (Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD) else None,
                              username=f"home-{r.value}") for r in Role}
        drafts = draft_notices(mandatory_items(users[Role.MAINTAINER].department,
                                               category=Category.CONSTRUCTION_MACHINE), users[Role.MAINTAINER])
        sign_notices([drafts[0].id], users[Role.DEPT_HEAD], render=False)  # the others wait for a signature
        plans.create_plan(year_from=2025, year_to=2027, user=users[Role.TASKFORCE])
        locked = make_user("maintainer", "zjj", username="locked-clerk")
        locked.locked_until = clock.now() + timedelta(minutes=25)
        db.session.commit()
        return {r: u.username for r, u in users.items()}


def test_each_roles_home_page_lists_its_work(app, live_server, browser_page, tmp_path):  # noqa: F811
    names = _seed(app)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    for role, expected in EXPECTED.items():
        page.context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", names[role])
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        text = page.inner_text("main")
        assert "今日待办" in text and expected in text, (role, text[:500])
        assert "在册设备" not in text
        _shot(page, tmp_path, f"home-{role.value}-1366")
