"""Job runs page, run now, acknowledging failures on the home page; snapshot pages and exports."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from registry.audit.models import AuditRecord
from registry.enums import Category, JobStatus
from registry.extensions import db
from registry.jobs import services
from registry.jobs.models import JobRun
from registry.snapshots.models import Snapshot
from tests.factories import make_asset


@pytest.fixture
def fake(app):
    """Feed snapshots from the fake source."""
    app.config["SNAPSHOT_SOURCE"] = "tests.fake_source:collect"
    return app


@pytest.fixture
def two_snapshots(fake):
    """Two nightly snapshots: zjj elevator stays, wjw device is new in the second, one zjj resolved."""
    with fake.app_context():
        make_asset(Category.ELEVATOR, code="E-STAY", commissioned_on=date(2010, 1, 1))
        gone = make_asset(Category.ELEVATOR, code="E-GONE", commissioned_on=date(2011, 1, 1))
        make_asset(Category.MEDICAL_DEVICE, code="M-NEW", commissioned_on=date(2015, 3, 1))
        make_asset(Category.OFFICIAL_CAR, code="C-NODATE", commissioned_on=None)
        assert services.run_job("nightly-evaluation", "2025-01-01").status == "succeeded"
        gone.deleted_at, gone.deletion_reason = sa.func.now(), "已报废"
        db.session.commit()
        assert services.run_job("nightly-evaluation", "2025-06-01").status == "succeeded"
        return db.session.scalar(sa.select(Snapshot.id).where(Snapshot.as_of == date(2025, 6, 1)))


@pytest.mark.parametrize("role,department,status", [
    ("sysadmin", None, 200), ("taskforce", None, 200), ("maintainer", "zjj", 403), ("auditor", None, 403),
    ("secadmin", None, 403), ("inspector", "zjj", 403),
])
def test_job_page_roles(client, login, role, department, status):
    login(role, department)
    assert client.get("/jobs/").status_code == status


def test_run_now_queues_and_is_audited(client, login, app, fake):
    login("sysadmin", None)
    resp = client.post("/jobs/nightly-evaluation/run", follow_redirects=True)
    assert resp.status_code == 200 and "已加入队列" in resp.get_data(as_text=True)
    again = client.post("/jobs/nightly-evaluation/run")
    assert again.status_code == 409
    with app.app_context():
        run = db.session.scalar(sa.select(JobRun))
        assert run.status is JobStatus.QUEUED and run.requested_by is not None
        assert db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "job.requested"))
    assert client.post("/jobs/no-such-job/run").status_code == 404


def test_failed_run_on_home_page_until_acknowledged(client, login, app):
    with app.app_context():
        app.config["SNAPSHOT_SOURCE"] = "tests.test_jobs:_exploding_source"
        assert services.run_job("nightly-evaluation", "2025-06-01").status == "failed"
    login("taskforce", None)
    home = client.get("/").get_data(as_text=True)
    assert "定时任务运行失败" in home and "数据源故障" in home
    with app.app_context():
        run_id = db.session.scalar(sa.select(JobRun.id))
    resp = client.post(f"/jobs/runs/{run_id}/acknowledge", data={"next": "//evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/jobs/")
    assert "定时任务运行失败" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(JobRun, run_id).acknowledged_by is not None


def test_maintainer_home_shows_no_job_failures(client, login, app):
    with app.app_context():
        app.config["SNAPSHOT_SOURCE"] = "tests.test_jobs:_exploding_source"
        services.run_job("nightly-evaluation", "2025-06-01")
    login("maintainer", "zjj")
    assert "定时任务运行失败" not in client.get("/").get_data(as_text=True)


def test_snapshot_pages_show_diff_and_scope(client, login, two_snapshots):
    login("taskforce", None)
    assert "2025-06-01" in client.get("/snapshots/").get_data(as_text=True)
    page = client.get(f"/snapshots/{two_snapshots}").get_data(as_text=True)
    assert "E-STAY" in page and "M-NEW" in page and "E-GONE" in page
    assert "row-resolved" in page and "row-new" in page and "badge-overdue" in page
    new_only = client.get(f"/snapshots/{two_snapshots}?diff=new&result=hit").get_data(as_text=True)
    assert "M-NEW" in new_only and "E-STAY" not in new_only
    assert "C-NODATE" in client.get(f"/snapshots/{two_snapshots}?result=undeterminable").get_data(as_text=True)
    # Nonsense filters are ignored, not a 500.
    assert client.get(f"/snapshots/{two_snapshots}?diff=x&category=y").status_code == 200
    bad_page = client.get(f"/snapshots/{two_snapshots}?page=-3")  # bounded numbers (issue 17): refused, in Chinese
    assert bad_page.status_code == 422 and "页码" in bad_page.get_data(as_text=True)
    assert client.get("/snapshots/99999").status_code == 404


def test_maintainer_sees_only_own_department(client, login, two_snapshots):
    login("maintainer", "wjw")
    page = client.get(f"/snapshots/{two_snapshots}?department=zjj").get_data(as_text=True)
    assert "E-STAY" not in page and "E-GONE" not in page
    assert "M-NEW" in client.get(f"/snapshots/{two_snapshots}").get_data(as_text=True)
    assert client.get(f"/snapshots/{two_snapshots}/departments/zjj.pdf").status_code == 403


def test_sysadmin_sees_no_snapshots(client, login, two_snapshots):
    login("sysadmin", None)
    assert client.get("/snapshots/").status_code == 403
    assert client.get(f"/snapshots/{two_snapshots}").status_code == 403


def test_xlsx_export_holds_the_filtered_rows(client, login, two_snapshots, app):
    from openpyxl import load_workbook
    login("taskforce", None)
    resp = client.get(f"/snapshots/{two_snapshots}/export.xlsx?department=zjj")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert "截至 2025-06-01" in rows[0][0] and rows[1][0] == "设备编码"
    assert sorted(r[0] for r in rows[2:]) == ["E-GONE", "E-STAY"]
    assert {r[14] for r in rows[2:]} == {"已消除", "仍未整改"}
    with app.app_context():
        assert db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "snapshot.export"))


def test_department_pdf(client, login, two_snapshots):
    from pypdf import PdfReader
    login("taskforce", None)
    resp = client.get(f"/snapshots/{two_snapshots}/departments/zjj.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(resp.data))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    text = page.extract_text()
    assert "E-STAY" in text and "E-GONE" not in text and "第 1 页 / 共 1 页" in text
    assert client.get(f"/snapshots/{two_snapshots}/departments/nope.pdf").status_code == 404


def test_monthly_reminder_listed_per_department(client, login, two_snapshots, app):
    with app.app_context():
        assert services.run_job("monthly-overdue-reminder", "2025-06").status == "succeeded"
    login("maintainer", "zjj")
    page = client.get("/snapshots/").get_data(as_text=True)
    assert "逾期提醒（2025-06" in page and "住建局" in page and "卫健委" not in page
    pdf = client.get(f"/snapshots/{two_snapshots}/departments/zjj.pdf?diff=overdue")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
