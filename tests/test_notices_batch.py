"""Stored notice PDFs rendered by a background task at signing, downloads that never break, batch printing.

Signing queues one `notices.render` task per batch (TASKS_IMMEDIATE runs it inside the signing here); a
download serves the stored file or, when it is missing, renders and stores it then; a batch print merges
the stored files (rendering missing ones in a process pool) and runs in the worker when it is large.
"""
from __future__ import annotations

import io
import logging
import os
from collections import Counter
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader

from registry import create_app
from registry.audit.models import AuditRecord
from registry.enums import TaskStatus
from registry.extensions import db
from registry.notices import batch, printing
from registry.notices.models import Notice
from registry.notices.seals import upload_seal
from registry.notices.printing import render_notice
from registry.notices.storage import batch_file, notice_pdf_path, notices_dir
from registry.orgs.models import Department
from registry.tasks.models import BackgroundTask
from tests.live import worker_until_finished
from tests.notice_factories import flagged_assets, issue_signed

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2025, 7, 16)
TOWNSHIPS = ("薛店镇", "和庄镇", "新建路街道", "龙湖镇", "孟庄镇")


def _sign(app, per_unit: list[int], render: bool = True) -> list[int]:
    """Sign one batch of notices, one per owner unit with that many assets; return their ids."""
    with app.app_context():
        items = [it for n, count in enumerate(per_unit)
                 for it in flagged_assets(count, township=TOWNSHIPS[n % len(TOWNSHIPS)])]
        return [n.id for n in issue_signed(items, issued_on=DAY, render=render)]


def _tasks(kind: str) -> list[BackgroundTask]:
    return list(db.session.scalars(sa.select(BackgroundTask).where(BackgroundTask.kind == kind)
                                   .order_by(BackgroundTask.id)))


def _pages(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_signing_a_batch_queues_one_render_task_and_the_stored_files_appear(app):
    ids = _sign(app, [1, 3, 1])  # three notices, one with an annex
    with app.app_context():
        [task] = _tasks(batch.RENDER_TASK)
        assert task.status is TaskStatus.DONE and sorted(task.payload["ids"]) == sorted(ids)
        assert task.result == {"count": 3, "rendered": 3}
        for notice in db.session.scalars(sa.select(Notice).where(Notice.id.in_(ids))):
            path = notice_pdf_path(notice)
            assert path is not None and path.read_bytes().startswith(b"%PDF")
            # The stored file is exactly what a download rendered before (rendering is deterministic).
            assert path.read_bytes() == render_notice(notice)


def test_download_serves_the_stored_file_and_never_renders(app, client, login, monkeypatch):
    [notice_id] = _sign(app, [2])
    with app.app_context():
        stored = notice_pdf_path(db.session.get(Notice, notice_id)).read_bytes()

    def no_render(*args, **kwargs):
        raise AssertionError("a stored notice was rendered again at download")
    monkeypatch.setattr(printing, "render_each", no_render)
    monkeypatch.setattr(printing, "render_pdf", no_render)
    login("inspector", "zjj")
    page, api = client.get(f"/notices/{notice_id}/pdf"), client.get(f"/api/v1/notices/{notice_id}/pdf")
    assert page.status_code == api.status_code == 200
    assert page.data == api.data == stored


def test_download_while_the_render_task_is_still_queued_renders_stores_and_logs(app, client, login, database_url,
                                                                               tmp_path, caplog):
    queued = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                         "NOTICE_FILES_DIR": app.config["NOTICE_FILES_DIR"], "SEAL_FILES_DIR": app.config["SEAL_FILES_DIR"],
                         "FILES_ROOT": app.config["FILES_ROOT"], "TASKS_IMMEDIATE": False})
    try:
        [notice_id] = _sign(queued, [1])  # as the web process signs: the task waits for a worker
        with queued.app_context():
            [task] = _tasks(batch.RENDER_TASK)
            assert task.status is TaskStatus.QUEUED
            assert notice_pdf_path(db.session.get(Notice, notice_id)) is None
    finally:
        with queued.app_context():
            db.engine.dispose()
    login("inspector", "zjj")
    with caplog.at_level(logging.WARNING):
        resp = client.get(f"/notices/{notice_id}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert any("rendered and stored on demand" in r.getMessage() for r in caplog.records)
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert (notices_dir() / notice.pdf_path).read_bytes() == resp.data == render_notice(notice)
    assert client.get(f"/notices/{notice_id}/pdf").data == resp.data


def test_a_failed_render_task_leaves_the_notice_downloadable(app, client, login, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")
    with monkeypatch.context() as patch:
        patch.setattr(printing, "render_each", broken)
        [notice_id] = _sign(app, [1])  # the signing itself goes through
    with app.app_context():
        [task] = _tasks(batch.RENDER_TASK)
        assert task.status is TaskStatus.FAILED and "任务执行出错" in task.error
        notice = db.session.get(Notice, notice_id)
        assert notice.number and notice.pdf_path is None
    login("inspector", "zjj")
    resp = client.get(f"/notices/{notice_id}/pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert notice_pdf_path(notice).read_bytes() == resp.data


def test_batch_print_in_the_request_has_every_notice_pages_in_print_order(app, client, login):
    stored = _sign(app, [1, 3])
    missing = _sign(app, [1, 1], render=False)  # no task ran for these: the print renders them
    login("inspector", "zjj")
    resp = client.post("/notices/print", data={"status": "issued", "unprinted": "1"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pages = _pages(resp.data)
    with app.app_context():
        notices = printing.print_order(sa.select(Notice).where(Notice.id.in_(stored + missing)))
        expected = []
        for notice in db.session.scalars(notices):
            path = notice_pdf_path(notice)
            assert path is not None and notice.printed_at is not None
            expected += [(notice.number, text) for text in _pages(path.read_bytes())]
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == "notice.print")) == 1
    assert len(pages) == len(expected) > 4  # the annex notice has more than one page
    assert pages == [text for _, text in expected]
    # Each notice starts with its own number on its first page.
    starts = [n for n, (number, _) in enumerate(expected) if n == 0 or expected[n - 1][0] != number]
    assert len(starts) == 4 and all(expected[n][0] in pages[n] for n in starts)


def test_printing_notices_a_commit_expired_reads_them_in_a_few_statements(app):
    # A commit (render_missing stores the PDFs it rendered and commits) expires every notice; read
    # one by one again, a 200-notice print spent 3.5 s on PostgreSQL in four statements per notice.
    ids = _sign(app, [1] * 6) + _sign(app, [1] * 6, render=False)
    with app.app_context():
        notices = list(db.session.scalars(sa.select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id)))
        db.session.commit()  # every notice expired, as after the store of missing PDFs
        statements = []

        def count(*args):
            statements.append(args[2])
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            data = batch.print_batch(notices, None)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert len(_pages(data)) == 12
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM" in s]
        reads_of = Counter(s.split("FROM", 1)[1].split()[0] for s in reads)
        # Once before and once after the render of the six missing PDFs, for all twelve notices at once.
        assert reads_of["notices"] == 2 and reads_of["notice_items"] == 2, reads_of
        assert len(reads) < 2 * len(notices), reads_of


def _serial_forbidden(*args, **kwargs):
    raise AssertionError("rendered in this process, not in the pool")


def test_a_large_batch_print_runs_in_the_background_rendering_in_a_process_pool(app, client, login, monkeypatch):
    count = batch.INLINE_PRINT_MAX + 1
    ids = _sign(app, [1] * count, render=False)  # nothing stored: all rendered by the pool
    monkeypatch.setattr(batch, "render_and_store", _serial_forbidden)  # children import their own, unpatched
    login("inspector", "zjj")
    resp = client.post("/notices/print", data={"status": "issued"})
    assert resp.status_code == 303 and "/tasks/" in resp.headers["Location"]
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    state = client.get(f"/tasks/{task_id}.json").get_json()
    assert state["status"] == "done" and state["redirect"] == f"/notices/print/{task_id}"
    result = client.get(state["redirect"])
    assert result.status_code == 200 and f"共 {count} 份通知书" in result.get_data(as_text=True)
    assert f'href="/notices/print/{task_id}.pdf"' in result.get_data(as_text=True)
    merged = client.get(f"/notices/print/{task_id}.pdf")
    assert merged.status_code == 200 and merged.mimetype == "application/pdf"
    pages = _pages(merged.data)
    with app.app_context():
        order = list(db.session.scalars(printing.print_order(sa.select(Notice).where(Notice.id.in_(ids)))))
        assert len(pages) == count and all(n.number in text for n, text in zip(order, pages))
        for notice in order[:3]:
            # A child process renders exactly what the request would.
            assert notice_pdf_path(notice).read_bytes() == render_notice(notice)
        assert batch_file(task_id) is not None
    client.post("/logout")
    login("inspector", "zjj", username="other-inspector")
    assert client.get(f"/notices/print/{task_id}.pdf").status_code == 404
    assert client.get(f"/notices/print/{task_id}").status_code == 404


def test_the_process_pool_renders_byte_identical_pdfs_in_order_seal_included(app, monkeypatch):
    with app.app_context():
        png = io.BytesIO()
        Image.new("RGBA", (120, 120), (210, 0, 0, 255)).save(png, format="PNG")
        upload_seal(db.session.scalar(sa.select(Department).where(Department.code == "zjj")), png.getvalue(), None)
        db.session.commit()
    ids = _sign(app, [1, 2, 1, 1, 1, 1, 1, 1], render=False)
    monkeypatch.setattr(batch, "render_and_store", _serial_forbidden)
    with app.app_context():
        notices = list(db.session.scalars(sa.select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id)))
        assert all(n.seal_id for n in notices)
        assert batch.render_missing(notices) == len(ids) >= batch.POOL_MIN
        for notice in notices:
            data = notice_pdf_path(notice).read_bytes()
            assert data == render_notice(notice)
            assert len([img for page in PdfReader(io.BytesIO(data)).pages for img in page.images]) >= 2  # QR + seal
        assert batch.render_missing(notices) == 0  # nothing is rendered twice


def test_a_real_worker_renders_a_signed_batch_in_its_process_pool(app, database_url, tmp_path):
    """As deployed: the web process signs and enqueues, `flask registry worker` (threads) runs the pool."""
    notice_dir, seal_dir, files = tmp_path / "worker-notices", tmp_path / "worker-seals", tmp_path / "worker-files"
    settings = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                "NOTICE_FILES_DIR": str(notice_dir), "SEAL_FILES_DIR": str(seal_dir), "FILES_ROOT": str(files)}
    queued = create_app({**settings, "TASKS_IMMEDIATE": False})
    ids = _sign(queued, [1] * batch.POOL_MIN)  # enough for the pool
    with queued.app_context():
        [task] = _tasks(batch.RENDER_TASK)
        task_id = task.id
        assert task.status is TaskStatus.QUEUED
    env = dict(os.environ, REGISTRY_DATABASE_URL=database_url, REGISTRY_SECRET_KEY="test-secret",
               REGISTRY_AUDIT_KEY=queued.config["AUDIT_KEY"], REGISTRY_NOTICE_FILES_DIR=str(notice_dir),
               REGISTRY_SEAL_FILES_DIR=str(seal_dir), REGISTRY_FILES_ROOT=str(files), PYTHONPATH=str(ROOT),
               PYTHONUNBUFFERED="1")
    output = worker_until_finished(queued, env, task_id, "--workers", "2", timeout=120)
    with queued.app_context():
        done = db.session.get(BackgroundTask, task_id)
        assert done.status is TaskStatus.DONE, (done.error, output[-3000:])
        assert done.result == {"count": len(ids), "rendered": len(ids)}
        assert f"rendering {len(ids)} notice PDFs in a pool of" in output
        for notice in db.session.scalars(sa.select(Notice).where(Notice.id.in_(ids))):
            assert notice_pdf_path(notice).read_bytes() == render_notice(notice)
        db.session.remove()
        db.engine.dispose()
