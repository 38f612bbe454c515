"""Background tasks: large imports run by the worker with progress, on SQLite and PostgreSQL.

In the suite TASKS_IMMEDIATE runs a task inside `submit` (in its own app context and session); one test
starts a real `flask registry worker` process on the test database, as deployed.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.assets.models import Asset
from registry.audit import services as audit
from registry.audit.models import AuditRecord
from registry.enums import TaskStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.tasks import services as tasks
from registry.tasks.models import BackgroundTask
from registry.transfer.models import ImportProfile
from tests import factories, ledgers
from tests.corpus.make_corpus import good_row, workbook
from tests.excel_helpers import snapshot, upload
from tests.live import chromium, worker_until_finished

ROOT = Path(__file__).resolve().parents[1]


def _task_id(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    location = resp.headers["Location"]
    assert "/tasks/" in location, location
    return int(location.rsplit("/", 1)[1])


def _follow(client, task_id: int) -> str:
    """Open the task page, check it finished, and return the page its result opens."""
    page = client.get(f"/tasks/{task_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "已完成" in text, text[:2000]
    state = client.get(f"/tasks/{task_id}.json").get_json()
    assert state["finished"] and state["percent"] == 100 and state["status"] == "done"
    return state["redirect"]


@pytest.fixture
def background(app):
    app.config["IMPORT_INLINE_BYTES"] = 0  # every upload goes to the worker
    return app


def test_large_ledger_runs_in_the_background_through_mapping_preview_and_confirm(background, client, login):
    app = background
    user_id = login("maintainer", "zjj")
    first = upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx")
    target = _follow(client, _task_id(first))
    assert "/mapping" in target  # not the template: the worker hands it on to the mapping page
    token = target.split("/import/")[1].split("/")[0]
    assert client.get(target).status_code == 200
    form = {"sheet": "2024年电梯台账", "category": "elevator", "set-owner_unit": "新郑市住房和城乡建设局",
            "partial_dates": "first", "profile_name": "电梯台账方案"}
    outcome = _follow(client, _task_id(client.post(f"/assets/import/{token}/preview", data=form)))
    page = client.get(outcome)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "新建 4，修改 0，未变 0" in text and "尚未写入任何数据" in text, text[:2000]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0
        task = db.session.scalars(sa.select(BackgroundTask).order_by(BackgroundTask.id.desc())).first()
        assert task.requested_by == user_id and task.status is TaskStatus.DONE and task.total > 0
    mapping_json = html.unescape(text.split('name="mapping_json" value="')[1].split('"')[0])
    done = _follow(client, _task_id(client.post(f"/assets/import/{token}/confirm", data={
        "sheet": "2024年电梯台账", "category": "elevator", "mapping_json": mapping_json,
        "profile_name": "电梯台账方案"})))
    result = client.get(done)
    assert result.status_code == 200 and "导入成功" in result.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 4
        assert db.session.scalar(sa.select(ImportProfile.name)) == "电梯台账方案"


def test_background_import_with_errors_writes_nothing_and_offers_the_marked_copy(background, client, login):
    app = background
    login("maintainer", "nync")
    rows = list(ledgers.FARM_ROWS)
    rows[1] = rows[1][:7] + ("2099年5月",) + rows[1][8:]
    token = _follow(client, _task_id(upload(client, ledgers.farm_csv(rows), "农机.csv"))).split("/import/")[1]
    token = token.split("/")[0]
    with app.app_context():
        before = snapshot()
    outcome = _follow(client, _task_id(client.post(f"/assets/import/{token}/preview",
                                                   data={"partial_dates": "first"})))
    page = client.get(outcome)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "第 4 行 H 列（购置日期）：「2099-05-01」晚于今天" in text
    link = text.split('href="/assets/import/report/')[1].split('"')[0]
    report = client.get("/assets/import/report/" + link)
    assert report.status_code == 200 and report.data[:2] == b"PK"
    report.close()
    with app.app_context():
        assert snapshot() == before


def test_template_import_in_the_background_and_a_refused_file(background, client, login):
    app = background
    user_id = login("maintainer", "zjj")
    done = _follow(client, _task_id(upload(client, workbook([good_row(1), good_row(2)]), "电梯.xlsx")))
    page = client.get(done)
    assert page.status_code == 200 and "导入成功" in page.get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(sa.select(Asset.code))) == {"C-DT-00001", "C-DT-00002"}
        record = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "asset.import")).one()
        assert record.user_id == user_id  # the worker records who started the import
        before = snapshot()
    refused = _follow(client, _task_id(upload(client, b"\x89PNG\r\n\x1a\n" + b"0" * 50, "x.xlsx")))
    page = client.get(refused)
    assert page.status_code == 415 and "文件未导入" in page.get_data(as_text=True)  # as in the request
    with app.app_context():
        assert snapshot() == before


def test_another_persons_task_does_not_exist_for_you(background, client, login):
    login("maintainer", "zjj")
    task_id = _task_id(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx"))
    login("maintainer", "zjj")  # a second maintainer of the same department
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert client.get(f"/tasks/{task_id}.json").status_code == 404
    assert client.get(f"/assets/import/outcome/{task_id}").status_code == 404
    assert client.get("/tasks/99999999").status_code == 404


@tasks.handler("test.progress")
def _progress_then_fail(task_id, payload, progress, user):
    """Report progress, check it is visible outside this transaction, write an asset, then refuse."""
    progress("校验", 5, 10)
    with db.engine.connect() as conn:  # another connection: what the polling page sees
        seen = conn.execute(sa.select(BackgroundTask.done, BackgroundTask.total, BackgroundTask.stage)
                            .where(BackgroundTask.id == task_id)).one()
    payload_seen = tuple(seen)
    if payload.get("write"):
        audit.record("test.background-write")  # flushed, not committed
    if payload.get("fail"):
        raise ValidationFailed(f"第 7 行 H 列（投入使用日期）有误；进度 {payload_seen}")
    return {"seen": list(payload_seen)}


def test_progress_is_visible_while_running_and_a_refusal_rolls_back(app, ctx):
    user = factories.make_user(role="maintainer", department="zjj")
    ok = tasks.submit("test.progress", user, {}, "进度测试")
    assert ok.status is TaskStatus.DONE and ok.result == {"seen": [5, 10, "校验"]}
    assert ok.percent == 100
    failed = tasks.submit("test.progress", user, {"fail": True, "write": True}, "失败测试")
    assert failed.status is TaskStatus.FAILED and "第 7 行 H 列（投入使用日期）有误" in failed.error
    written = sa.select(sa.func.count(AuditRecord.id)).where(AuditRecord.action == "test.background-write")
    assert db.session.scalar(written) == 0  # the handler's write was rolled back


@pytest.mark.slow
def test_a_real_worker_process_runs_a_queued_import(app, database_url, tmp_path):
    """`flask registry worker` takes the task from the database queue (huey's SQL storage) and runs it."""
    with app.app_context():
        user = factories.make_user(role="maintainer", department="zjj")
        user_id = user.id
    files = tmp_path / "files"
    env = dict(os.environ, REGISTRY_DATABASE_URL=database_url, REGISTRY_SECRET_KEY="test-secret",
               REGISTRY_FILES_ROOT=str(files), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    queued = create_queued_app(database_url, files)
    with queued.app_context():
        from registry.accounts.models import User
        from registry.transfer import stored
        owner = db.session.get(User, user_id)
        token = stored.save(ledgers.elevator_ledger(), "电梯台账.xlsx", user_id, ".upload", size=1)
        task = tasks.submit("transfer.import", owner, {"step": "preview", "token": token, "form": {
            "sheet": "2024年电梯台账", "category": "elevator", "set-owner_unit": "新郑市住房和城乡建设局",
            "partial_dates": "first"}}, "预览")
        task_id = task.id
        assert task.status is TaskStatus.QUEUED  # nobody ran it yet: the web process only enqueues
    output = worker_until_finished(queued, env, task_id)
    with queued.app_context():
        done = db.session.get(BackgroundTask, task_id)
        assert done.status is TaskStatus.DONE, (done.error, output[-3000:])
        assert done.result["outcome"]["counts"] == {"new": 4, "changed": 0, "unchanged": 0}
        assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0  # a preview writes nothing
        db.session.remove()
        db.engine.dispose()


def create_queued_app(database_url: str, files):
    """An app that enqueues into the database (not TASKS_IMMEDIATE), like the web process."""
    from registry import create_app
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                       "FILES_ROOT": str(files), "TASKS_IMMEDIATE": False})


@pytest.mark.browser
def test_progress_page_polls_and_opens_the_result_when_done(app, live_server):
    """In a real browser the bar follows the task's progress and the page opens the result by itself."""
    from playwright.sync_api import expect  # the CSP forbids string evaluation: use locators
    from registry import clock
    with app.app_context():
        user = factories.make_user("maintainer", "zjj", username="task-zjj")
        task = BackgroundTask(kind="transfer.import", requested_by=user.id, title="确认导入（写入）：台账.xlsx",
                              status=TaskStatus.RUNNING, stage="校验", done=42, total=100, payload={},
                              started_at=clock.now(), heartbeat_at=clock.now())
        db.session.add(task)
        db.session.commit()
        task_id = task.id
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(live_server + "/login")
        page.fill("input[name=username]", "task-zjj")
        page.fill("input[name=password]", factories.TEST_PASSWORD)
        page.click("button[type=submit]")
        page.goto(live_server + f"/tasks/{task_id}")
        assert page.eval_on_selector("#task-bar", "b => b.value") == 42
        with app.app_context():
            db.session.execute(sa.update(BackgroundTask).where(BackgroundTask.id == task_id).values(done=80))
            db.session.commit()
        expect(page.locator("#task-stage")).to_contain_text("80 / 100", timeout=10_000)
        assert page.eval_on_selector("#task-bar", "b => b.value") == 80
        with app.app_context():
            db.session.execute(sa.update(BackgroundTask).where(BackgroundTask.id == task_id).values(
                status=TaskStatus.DONE, result={"open": "home.index"}, finished_at=clock.now()))
            db.session.commit()
        page.wait_for_url(live_server + "/", timeout=10_000)  # opened the result page without a click


def test_background_preview_with_a_mapping_problem_keeps_the_users_choices(background, client, login):
    """A mapping problem found by the worker shows the mapping page with what the user chose, not the suggestions."""
    login("maintainer", "zjj")
    target = _follow(client, _task_id(upload(client, ledgers.elevator_ledger(), "电梯台账.xlsx")))
    token = target.split("/import/")[1].split("/")[0]
    page = client.get(target).get_data(as_text=True)
    assert '<option value="mid" selected>' not in page
    # 小区 (column I) made an extra attribute and the partial-date policy changed; 产权单位 is left without a column.
    form = {"sheet": "2024年电梯台账", "category": "elevator", "col-8": "extra", "partial_dates": "mid"}
    outcome = client.get(_follow(client, _task_id(client.post(f"/assets/import/{token}/preview", data=form))))
    back = outcome.headers.get("Location", "")
    assert outcome.status_code == 302 and f"/import/{token}/mapping" in back and "task=" in back
    page = client.get(back)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "必填字段「产权单位」没有对应的列" in text
    assert '<option value="mid" selected>' in text
    column_i = text.split('name="col-8"')[1].split("</select>")[0]
    assert '<option value="extra" selected>' in column_i
    other = client.get(back.replace(f"/import/{token}/", "/import/not-the-token/"))
    assert other.status_code == 404
