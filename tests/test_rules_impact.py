"""The impact preview of a rule change: inline for a small inventory, a background task (progress, stored
result page) for a large one, with the same content either way; only its requester may open it."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, ConditionGrade, TaskStatus
from registry.extensions import db
from registry.orgs.models import Department
from registry.rules import impact
from registry.rules.jobs import IMPACT_TASK
from registry.rules.models import Rule
from registry.rules.versions import seed_packs
from registry.tasks import services as tasks
from registry.tasks.models import BackgroundTask
from tests import factories
from tests.factories import make_asset

SEVEN_YEARS = '{"years": 7, "reading": "at_least", "date_field": "age_start", "grade": "poor"}'
TEN_YEARS = '{"years": 10, "reading": "at_least", "date_field": "age_start", "grade": "poor"}'
CARS = 30


def _form(**overrides):
    data = {"title": "使用8年以上且车况较差的老旧公务用车更新淘汰", "citation": "新政〔2024〕3号 二（四）12",
            "params": SEVEN_YEARS, "outcome": "mandatory_renewal", "deadline_type": "fixed",
            "deadline_date": "2027-12-31", "enabled": "on", "verified": "on", "as_of": "2024-06-01",
            "action": "preview"}
    data.update(overrides)
    return data


@pytest.fixture
def fleet(app):
    """Seed the rule packs and CARS official cars over two departments: 7, 9 and 11 years old, some ungraded."""
    with app.app_context():
        seed_packs()
        other = db.session.scalar(sa.select(Department).where(Department.code == "zjj"))
        for n in range(CARS):
            registered = date(2017 - 2 * (n % 3), 3, 1)  # 7, 9 or 11 years old on 2024-06-01
            grade = None if n % 10 == 9 else ConditionGrade.POOR
            make_asset(Category.OFFICIAL_CAR, code=f"GC-{n:03d}", registered_on=registered, condition_grade=grade,
                       **({"department": other} if n % 2 else {}))
        make_asset(Category.ELEVATOR, code="DT-1")  # another category: outside the rule's reach
    return app


def _section(resp) -> str:
    text = resp.get_data(as_text=True)
    assert '<h2 id="impact">' in text, text[:3000]
    return text[text.index('<h2 id="impact">'):text.index("</table>", text.index('<h2 id="impact">'))]


def _task_id(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert "/tasks/" in resp.headers["Location"], resp.headers["Location"]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _result_url(client, task_id: int) -> str:
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and "已完成" in page.get_data(as_text=True)
    state = client.get(f"/tasks/{task_id}.json").get_json()
    assert state["finished"] and state["status"] == "done" and state["percent"] == 100, state
    return state["redirect"]


@pytest.mark.parametrize("params", [SEVEN_YEARS, TEN_YEARS])
def test_the_background_preview_shows_what_the_inline_one_shows(client, login, fleet, params):
    app = fleet
    login("taskforce", None)
    inline = client.post("/rules/XZ-12/edit", data=_form(params=params))
    assert inline.status_code == 200
    expected = _section(inline)
    assert f"本类别可见设备 {CARS} 台" in expected and "GC-" in expected
    app.config["IMPACT_INLINE_ASSETS"] = 0  # every preview goes to the worker
    task_id = _task_id(client.post("/rules/XZ-12/edit", data=_form(params=params)))
    url = _result_url(client, task_id)
    assert url == f"/rules/XZ-12/impact/{task_id}#impact"  # opens at the preview
    first, again = client.get(url), client.get(url)  # stored: a reload shows it again
    assert first.status_code == again.status_code == 200
    assert _section(first) == _section(again) == expected
    page = first.get_data(as_text=True)
    assert params.replace('"', "&#34;") in page and 'value="2024-06-01"' in page  # the form as submitted
    assert 'action="/rules/XZ-12/edit"' in page  # saving from the result page posts to the edit page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Rule).where(Rule.code == "XZ-12")) == 1


def test_the_stored_result_equals_the_service_and_progress_covers_both_versions(fleet):
    app = fleet
    with app.app_context():
        user = factories.make_user(role="taskforce", department=None)
        changes = {"params": {"years": 7, "reading": "at_least", "date_field": "age_start", "grade": "poor"}}
        reports = []
        direct = impact.preview("XZ-12", changes, date(2024, 6, 1), progress=lambda *r: reports.append(r))
        assert direct.flagged == 9 and direct.cleared == 0 and direct.assets == CARS
        assert {stage for stage, _d, _t in reports} == {"评估现行版本", "评估修改后版本"}
        assert all(total == 2 * CARS for _s, _d, total in reports)
        dones = [done for _s, done, _t in reports]
        assert dones == sorted(dones) and dones[-1] == 2 * CARS and len(dones) > 10  # one report per id range
        task = tasks.submit(IMPACT_TASK, user, {"code": "XZ-12", "as_of": "2024-06-01",
                                                "form": {k: v for k, v in _form().items() if k != "action"}}, "预览")
        assert task.status is TaskStatus.DONE, task.error
        assert task.result["impact"] == direct.to_json()
        assert impact.Impact.from_json(task.result["impact"]) == direct
        assert task.total == 2 * CARS  # the last progress report reached the page's row


def test_small_previews_stay_inline_and_large_ones_go_to_the_worker(client, login, fleet):
    app = fleet
    login("taskforce", None)
    app.config["IMPACT_INLINE_ASSETS"] = CARS  # the elevator is not counted: another category
    assert client.post("/rules/XZ-12/edit", data=_form()).status_code == 200
    app.config["IMPACT_INLINE_ASSETS"] = CARS - 1
    _task_id(client.post("/rules/XZ-12/edit", data=_form()))


def test_only_the_requester_may_open_the_task_and_its_result(client, login, fleet):
    app = fleet
    app.config["IMPACT_INLINE_ASSETS"] = 0
    login("taskforce", None)
    task_id = _task_id(client.post("/rules/XZ-12/edit", data=_form()))
    url = _result_url(client, task_id)
    assert client.get(f"/rules/XZ-99/impact/{task_id}").status_code == 404  # not this rule's preview
    login("maintainer", "zjj")  # another role: no rule editing, no preview
    assert client.get(url).status_code == 403
    assert client.get(f"/tasks/{task_id}").status_code == 404
    login("taskforce", None)  # another task-force member: the task is not theirs
    for path in (url, f"/tasks/{task_id}", f"/tasks/{task_id}.json"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "没有" in resp.get_data(as_text=True) or path.endswith(".json")


def test_bad_input_is_refused_on_the_form_in_chinese_and_queues_nothing(client, login, fleet):
    app = fleet
    app.config["IMPACT_INLINE_ASSETS"] = 0
    login("taskforce", None)
    for overrides, message in (({"params": "{not json"}, "不是有效的 JSON"),
                               ({"effective_from": "2025-01-01", "effective_to": "2024-01-01"}, "早于生效日期"),
                               ({"params": SEVEN_YEARS.replace('"poor"', '"awful"')}, "状况等级必须是")):
        resp = client.post("/rules/XZ-12/edit", data=_form(**overrides))
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), overrides
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BackgroundTask.id))) == 0


def test_a_task_whose_form_no_longer_validates_fails_in_chinese(client, login, fleet):
    app = fleet
    user_id = login("taskforce", None)
    with app.app_context():
        from registry.accounts.models import User
        task = tasks.submit(IMPACT_TASK, db.session.get(User, user_id), {"code": "XZ-12", "as_of": "2024-06-01",
                            "form": {k: v for k, v in _form(params="[1").items() if k != "action"}}, "预览")
        task_id = task.id
        assert task.status is TaskStatus.FAILED and "规则参数有误" in task.error
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "规则参数有误" in page and "查看结果" not in page
    resp = client.get(f"/rules/XZ-12/impact/{task_id}")
    assert resp.status_code == 404 and "没有规则影响预览结果" in resp.get_data(as_text=True)


def test_a_result_older_than_the_current_version_says_so(client, login, fleet):
    app = fleet
    app.config["IMPACT_INLINE_ASSETS"] = 0
    login("taskforce", None)
    url = _result_url(client, _task_id(client.post("/rules/XZ-12/edit", data=_form())))
    assert client.post("/rules/XZ-12/edit", data=_form(action="save")).status_code == 302
    text = client.get(url).get_data(as_text=True)
    assert "此预览对比的是第 1 版，规则 XZ-12 现已是第 2 版" in text and "对比现行第 1 版" in text
