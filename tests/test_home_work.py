"""Issue #16: the home page lists each role's work; the ledger shows and filters rule findings; Chinese labels."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import sqlalchemy as sa

from registry import clock
from registry.audit import services as audit
from registry.enums import Category, ConditionGrade
from registry.extensions import db
from tests import factories

ROW_CODES = re.compile(r'<td><a href="/assets/\d+">([^<]+)</a>')


def _codes(html: str) -> set[str]:
    return set(ROW_CODES.findall(html))


def _evaluate(app, today=None):
    from registry.rules.services import evaluate_inventory
    with app.app_context():
        evaluate_inventory(today or clock.today())
        db.session.commit()


def _fleet(app):
    """Construction machines of 住建局: one flagged (mandatory), one recent (no finding), one without dates."""
    from registry.rules.versions import seed_packs
    with app.app_context():
        seed_packs()
        old = factories.make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2004, 3, 1),
                                   condition_grade=ConditionGrade.POOR, condition_assessed_on=clock.today())
        new = factories.make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2022, 5, 1),
                                   condition_grade=ConditionGrade.GOOD, condition_assessed_on=date(2020, 1, 1))
        blank = factories.make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=None, manufactured_on=None)
        codes = old.code, new.code, blank.code
    _evaluate(app)
    return codes


def test_ledger_findings_column_and_filter(app, client, login):
    old, new, blank = _fleet(app)
    login("maintainer", "zjj")
    page = client.get("/assets/c/construction_machine").get_data(as_text=True)
    assert "<th>规则结论</th>" in page and "XZ-8a" in page and ">强制</span>" in page and ">无法判定</span>" in page
    assert _codes(client.get("/assets/c/construction_machine?finding=mandatory").get_data(as_text=True)) == {old}
    assert _codes(client.get("/assets/c/construction_machine?finding=强制").get_data(as_text=True)) == {old}
    assert blank in _codes(client.get("/assets/c/construction_machine?finding=undetermined").get_data(as_text=True))
    assert old not in _codes(client.get("/assets/c/construction_machine?finding=none").get_data(as_text=True))
    bad = client.get("/assets/c/construction_machine?finding=bogus")
    assert bad.status_code == 400 and "规则结论：「bogus」不是有效选项" in bad.get_data(as_text=True)
    api = client.get("/api/v1/assets?category=construction_machine&finding=mandatory").get_json()
    assert [a["code"] for a in api["items"]] == [old]


def test_missing_and_stale_filters_in_list_and_export(app, client, login):
    old, new, blank = _fleet(app)
    login("maintainer", "zjj")
    assert _codes(client.get("/assets/c/construction_machine?missing=commissioned_on").get_data(as_text=True)) \
        == {blank}
    stale = _codes(client.get("/assets/c/construction_machine?stale=1").get_data(as_text=True))
    assert new in stale and old not in stale  # graded in 2020 / graded today
    bad = client.get("/assets/c/construction_machine?missing=password")
    assert bad.status_code == 400 and "缺少数据：" in bad.get_data(as_text=True)
    resp = client.get("/assets/export?category=construction_machine&finding=mandatory")
    data = resp.data
    resp.close()  # the export is streamed from a temporary file
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(data))["建筑工程机械"]
    codes = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert old in codes and new not in codes and blank not in codes
    info = dict(openpyxl.load_workbook(io.BytesIO(data))["导出信息"].iter_rows(values_only=True))
    assert info["规则结论"] == "强制"


def test_keyword_matches_address_community_and_units(app, client, login):
    with app.app_context():
        owner = factories.make_unit(name="郑韩物业管理有限公司")
        by_address = factories.make_asset(Category.ELEVATOR, address="新郑市人民路18号金城花园小区3号楼").code
        by_community = factories.make_asset(Category.ELEVATOR, detail={"residential_community": "银河小区"}).code
        by_owner = factories.make_asset(Category.ELEVATOR, owner=owner).code
        factories.make_asset(Category.ELEVATOR)
    login("maintainer", "zjj")
    find = lambda q: _codes(client.get(f"/assets/c/elevator?q={q}").get_data(as_text=True))  # noqa: E731
    assert find("金城花园") == {by_address}
    assert find("银河小区") == {by_community}
    assert find("郑韩物业") == {by_owner}


def test_ledger_tabs_are_the_departments_own(app, client, login):
    login("maintainer", "zjj")
    assert client.get("/assets/").headers["Location"].endswith("/assets/c/elevator")
    page = client.get("/assets/c/elevator").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs">(.*?)</nav>', page, re.S).group(1)
    assert "电梯" in tabs and "市政管道设施" in tabs and "公务用车" not in tabs and "医疗设备" not in tabs


def test_snapshot_and_plan_rows_link_to_assets(app, client, login):
    from registry.snapshots.services import build_snapshot
    old, _new, _blank = _fleet(app)
    with app.app_context():
        snapshot, _ = build_snapshot("t-1", clock.today())
        db.session.commit()
        snapshot_id = snapshot.id
        asset_id = db.session.scalar(sa.select(factories.Asset.id).where(factories.Asset.code == old))
    login("taskforce", None)
    page = client.get(f"/snapshots/{snapshot_id}").get_data(as_text=True)
    assert f'<a href="/assets/{asset_id}">{old}</a>' in page


def test_maintainer_home_lists_missing_data_stale_grades_and_new_findings(app, client, login):
    from registry.snapshots.services import build_snapshot
    old, new, blank = _fleet(app)
    with app.app_context():
        build_snapshot("t-1", clock.today())
        db.session.commit()
    login("maintainer", "zjj")
    home = client.get("/").get_data(as_text=True)
    assert "本周新增强制更新项" in home and old in home  # new in this week's snapshot
    assert "建筑工程机械：缺少「投入使用日期」" in home
    assert "/assets/c/construction_machine?finding=undetermined&amp;missing=commissioned_on" in home
    assert "/assets/c/construction_machine?stale=1" in home
    assert "在册设备" not in home
    # The link opens exactly the assets to fill in.
    listed = client.get("/assets/c/construction_machine?finding=undetermined&missing=commissioned_on")
    assert _codes(listed.get_data(as_text=True)) == {blank}


def test_maintainer_of_another_department_sees_none_of_it(app, client, login):
    _fleet(app)
    login("maintainer", "jgsw")
    home = client.get("/").get_data(as_text=True)
    assert "建筑工程机械" not in home and "没有因缺少数据而无法判定的设备" in home


def test_dept_head_and_inspector_homes_list_drafts_notices_to_serve_and_overdue(app, client, login):
    from registry.notices import lifecycle
    from registry.notices.services import draft_notices, sign_notices
    from registry.notices.sources import mandatory_items
    _fleet(app)
    with app.app_context():
        maintainer = factories.make_user("maintainer", "zjj")
        head = factories.make_user("dept_head", "zjj")
        drafts = draft_notices(mandatory_items(maintainer.department, category=Category.CONSTRUCTION_MACHINE),
                               maintainer)
        owner, draft_ids, head_id = drafts[0].owner_unit.name, [d.id for d in drafts], head.id
    login("dept_head", "zjj")
    home = client.get("/").get_data(as_text=True)
    assert "待签发的通知书草稿" in home and owner in home and "/notices/?status=draft" in home
    client.post("/logout")
    with app.app_context():
        from registry.accounts.models import User
        [notice] = sign_notices(draft_ids, db.session.get(User, head_id), render=False)
        number, deadline = notice.number, notice.deadline
    login("inspector", "zjj")
    home = client.get("/").get_data(as_text=True)
    assert "待送达的通知书" in home and number in home and "没有逾期的通知书" in home
    with app.app_context():
        lifecycle.mark_overdue(deadline + timedelta(days=1))
    home = client.get("/").get_data(as_text=True)
    assert "已逾期的通知书" in home and "没有待送达的通知书" in home and number in home


def test_taskforce_home_lists_plans_and_targets_behind(app, client, login):
    from registry.planning import services as plans
    from registry.planning.reference import ensure_planning_reference
    _fleet(app)
    with app.app_context():
        ensure_planning_reference()
        taskforce = factories.make_user("taskforce", None)
        plan = plans.create_plan(year_from=2025, year_to=2027, user=taskforce)
        name = plan.name
    login("taskforce", None)
    home = client.get("/").get_data(as_text=True)
    assert "更新计划" in home and name in home and "草稿：待完善并上报" in home
    assert "进度落后于目标" in home


def test_behind_schedule_spreads_the_target_over_its_years():
    from types import SimpleNamespace

    from registry.planning.progress import behind_schedule, expected_by
    row = SimpleNamespace(target=30, targets=[SimpleNamespace(start_year=2025, deadline_year=2027)],
                          done={2025: 10, 2026: 5})
    assert expected_by(row, 2024) == 0 and expected_by(row, 2025) == 10 and expected_by(row, 2027) == 30
    assert behind_schedule([row], 2025) == []
    assert behind_schedule([row], 2026) == [(row, 20, 15)]


def test_admin_homes_show_their_own_work_and_no_inventory(app, client, login_as):
    with app.app_context():
        locked = factories.make_user("maintainer", "zjj", username="locked-clerk")
        locked.locked_until = clock.now() + timedelta(minutes=20)
        audit.record("access.denied", outcome="denied", details={"path": "/admin/users/"})
        db.session.commit()
        factories.make_asset(Category.ELEVATOR)
    login_as("sysadmin")
    home = client.get("/").get_data(as_text=True)
    assert "已锁定的账户" in home and "locked-clerk" in home and "台" not in home.split("今日待办")[1]
    client.post("/logout")
    login_as("auditor")
    home = client.get("/").get_data(as_text=True)
    assert "审计记录哈希链完整" in home and "拒绝访问" in home and "outcome=denied" in home
    client.post("/logout")
    login_as("secadmin")
    home = client.get("/").get_data(as_text=True)
    assert "当前安全策略" in home and "密码最小长度" in home


def test_audit_actions_in_chinese_and_the_filter_takes_the_name(app, client, login_as):
    with app.app_context():
        audit.record("login", outcome="failure", details={"username": "mallory", "reason": "bad password"})
        audit.record("plan.lock", object_type="plan", object_id=3, details={"before": "approved", "after": "locked"})
        db.session.commit()
    login_as("auditor")
    html = client.get("/audit/?action=登录").get_data(as_text=True).split("<tbody>")[1]
    assert "登录" in html and "mallory" in html and "锁定计划" not in html
    html = client.get("/audit/?action=锁定计划").get_data(as_text=True).split("<tbody>")[1]
    assert "锁定计划" in html and "已审批" in html and "已锁定" in html and "plan.lock" not in html.replace(
        'title="plan.lock"', "")
    assert '{"before"' not in html  # readable rows, not raw JSON


def test_error_keys_are_shown_as_chinese_labels(app, client, login_as):
    from registry.errors import error_rows
    assert error_rows({"username": ["用户名「a」已存在"], "department": ["未知的部门"]}) == [
        (None, "用户名「a」已存在"), ("部门", "未知的部门")]
    assert error_rows({"类别": ["x"], 3: "y"}) == [("类别", "x"), ("第 3 行", "y")]
    login_as("sysadmin")
    with app.app_context():
        factories.make_user("maintainer", "zjj", username="dup-user")
    resp = client.post("/admin/users/new", data={"username": "dup-user", "display_name": "甲", "role": "maintainer",
                                                 "department": "zjj"})
    html = resp.get_data(as_text=True)
    assert "已存在" in html and "username" not in re.sub(r'name="username"|for="username"|id="username"', "", html)


def test_history_shows_chinese_field_names_and_labels(app, client, login):
    from registry.assets.models import AssetChange
    with app.app_context():
        asset = factories.make_asset(Category.ELEVATOR)
        db.session.add_all([AssetChange(asset_id=asset.id, action="import", field="record", before=None, after="导入新建"),
                            AssetChange(asset_id=asset.id, action="notice", field="status", before="in_use",
                                        after="notified")])
        db.session.commit()
        asset_id = asset.id
    login("maintainer", "zjj")
    html = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    history = html.split('id="history"')[1]
    assert "整条记录" in history and "record" not in history
    assert "在用" in history and "已下达通知" in history and "in_use" not in history and "更新通知书" in history


def test_ledger_summaries_come_from_each_categorys_latest_evaluation(app):
    from registry.assets.models import Asset
    from registry.rules.ledger import finding_summaries
    from registry.rules.services import evaluate_inventory
    old, new, blank = _fleet(app)
    with app.app_context():
        ids = {a.code: a.id for a in db.session.scalars(sa.select(Asset))}
        listed = [ids[old], ids[new], ids[blank]]
        first = finding_summaries(listed, Category.CONSTRUCTION_MACHINE)
        assert first[ids[old]][0] == ("mandatory", ["XZ-8a"])
        assert "mandatory" not in dict(first[ids[new]]) and dict(first[ids[blank]]) == {"undetermined": ["XZ-8a", "XZ-8b"]}
        assert finding_summaries(listed, None) == first  # every category's latest, in the same one statement
        # The old machine is renewed in place and its category evaluated again: that newer run wins.
        asset = db.session.get(Asset, ids[old])
        asset.commissioned_on = date(2023, 1, 1)
        asset.condition_grade = ConditionGrade.GOOD
        db.session.commit()
        evaluate_inventory(clock.today(), category=Category.CONSTRUCTION_MACHINE)
        db.session.commit()
        second = finding_summaries(listed, Category.CONSTRUCTION_MACHINE)
        assert "mandatory" not in dict(second.get(ids[old], [])) and second[ids[blank]] == first[ids[blank]]
        assert finding_summaries(listed, None) == second
        assert finding_summaries([], Category.CONSTRUCTION_MACHINE) == {}
