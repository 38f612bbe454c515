"""Fault drills with real processes (issue 9, item 5): the database restarts, workers and jobs die mid-write.

Each drill runs gunicorn (the production config) or the job CLI in its own process and checks the data
afterwards: no lost or half-written change, no duplicate, and service resumes without a restart.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from registry import create_app
from registry.accounts.tokens import create_token
from registry.assets.models import Asset, AssetChange
from registry.enums import Category, JobStatus
from registry.extensions import db
from tests import factories
from tests.corpus.make_corpus import good_row, workbook
from tests.excel_helpers import snapshot
from tests.live import ROOT, Gunicorn, PrivatePostgres, flask_cli, postgres_bindir, server_env

pytestmark = pytest.mark.slow
ON_PG_PASS = bool(os.environ.get("REGISTRY_TEST_DATABASE_URL"))


def test_lost_database_is_a_503_in_chinese_not_a_crash(tmp_path):
    # A database that cannot be reached at all: every page and API call says so, none crashes.
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False,
                      "DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/none"
                      if ON_PG_PASS else f"sqlite:///{tmp_path}/missing/dir/registry.db"})
    client = app.test_client()
    api = client.get("/api/v1/assets", headers={"Authorization": "Bearer abc"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert "数据库暂时不可用" in api.get_json()["message"]
    page = client.get("/login")
    assert page.status_code == 503 and "数据库暂时不可用" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 503
    with app.app_context():
        db.engine.dispose()


def test_operational_error_with_a_live_database_is_a_bug_not_an_outage(app, database_url):
    # Only a database that is really gone (or busy) earns "try again later"; anything else is a 500 to fix.
    with app.app_context():
        _, token = create_token(factories.make_user("maintainer", "zjj"), "drill")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    refused = sa.exc.OperationalError("SELECT …", {}, Exception("number of parameters must be between 0 and 65535"))
    lost = sa.exc.OperationalError("SELECT …", {}, Exception("server closed the connection"),
                                   connection_invalidated=True)

    def boom(err):
        raise err

    app.add_url_rule("/api/v1/_drill/refused", "drill_refused", lambda: boom(refused))
    app.add_url_rule("/api/v1/_drill/lost", "drill_lost", lambda: boom(lost))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client, auth = app.test_client(), {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/_drill/refused", headers=auth).status_code == 500
    gone = client.get("/api/v1/_drill/lost", headers=auth)
    assert gone.status_code == 503 and "数据库暂时不可用" in gone.get_json()["message"]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.skipif(not ON_PG_PASS, reason="PostgreSQL only: it ends the request's own PostgreSQL backend "
                           "(pg_terminate_backend), which SQLite has no equivalent of; runs in the PostgreSQL pass of make test")
def test_connection_lost_after_the_answer_is_built_is_not_a_crash(app, database_url, caplog):
    # PostgreSQL restarting between a view's last query and the request's closing ROLLBACK (seen in CI):
    # the answer already built is sent, and the next request gets a fresh connection.
    with app.app_context():
        _, token = create_token(factories.make_user("maintainer", "zjj"), "drill")
    live = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    live.config["PROPAGATE_EXCEPTIONS"] = False
    killer = sa.create_engine(database_url)

    def answer_then_lose_the_connection():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return {"answered": True}

    live.add_url_rule("/api/v1/_drill/late", "drill_late", answer_then_lose_the_connection)
    client, auth = live.test_client(), {"Authorization": f"Bearer {token}"}
    try:
        late = client.get("/api/v1/_drill/late", headers=auth)
        assert late.status_code == 200 and late.get_json() == {"answered": True}
        assert "database connection lost while ending the request" in caplog.text
        assert client.get("/api/v1/assets", headers=auth).status_code == 200
    finally:
        killer.dispose()
        with live.app_context():
            db.engine.dispose()


def _closed_port() -> int:
    from tests.live import free_port
    return free_port()


# --- PostgreSQL restarts while requests run -------------------------------------------------------

@dataclass
class Traffic:
    """What the client threads saw: (start, end, kind, status) per request, in monotonic seconds."""
    log: list = field(default_factory=list)
    confirmed: dict = field(default_factory=dict)  # asset id -> names whose PATCH answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, started: float, kind: str, status):
        with self.lock:
            self.log.append((started, time.monotonic(), kind, status))


def _writer(base, token, asset_id, traffic: Traffic, stop: threading.Event):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    version, n = 1, 0
    while not stop.is_set():
        n += 1
        name = f"重启演练-{asset_id}-{n}"
        started = time.monotonic()
        try:
            r = s.patch(f"{base}/api/v1/assets/{asset_id}", json={"name": name},
                        headers={"If-Match": f'"{version}"'}, timeout=10)
            status = r.status_code
        except requests.RequestException:
            status = "conn"
        traffic.add(started, "write", status)
        if status == 200:
            version = int(r.headers["ETag"].strip('"'))
            traffic.confirmed.setdefault(asset_id, []).append(name)
        elif status in (412, 503, "conn"):
            # The outcome of a write cut off by the restart is unknown: read the current version back.
            try:
                got = s.get(f"{base}/api/v1/assets/{asset_id}", timeout=10)
                if got.status_code == 200:
                    version = int(got.headers["ETag"].strip('"'))
            except requests.RequestException:
                pass
            time.sleep(0.05)


def _reader(base, token, traffic: Traffic, stop: threading.Event):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    while not stop.is_set():
        started = time.monotonic()
        try:
            status = s.get(f"{base}/api/v1/assets?limit=20", timeout=10).status_code
        except requests.RequestException:
            status = "conn"
        traffic.add(started, "read", status)


@pytest.mark.skipif(not ON_PG_PASS or postgres_bindir() is None,
                    reason="PostgreSQL only: it stops and restarts a private PostgreSQL cluster of its own "
                           "(initdb, pg_ctl from PostgreSQL's server programs), which SQLite has no equivalent of; "
                           "runs in the PostgreSQL pass of make test")
def test_postgres_restart_while_requests_run(tmp_path):
    pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="registry-drill-"))).init()
    server = None
    try:
        env = server_env(pg.url, tmp_path)
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "registry", "seed-reference")
        app = create_app({"TESTING": True, "DATABASE_URL": pg.url, "SECRET_KEY": "t"})
        with app.app_context():
            maintainer = factories.make_user("maintainer", "zjj")
            _, write_token = create_token(maintainer, "drill")
            taskforce = factories.make_user("taskforce", None)
            _, read_token = create_token(taskforce, "drill")
            asset_ids = [factories.make_asset(Category.ELEVATOR).id for _ in range(2)]
            db.session.commit()
            db.session.remove()
            db.engine.dispose()  # no connection of ours outlives the restart below
        server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=2)
        workers_before = sorted(server.worker_pids())

        traffic, stop = Traffic(), threading.Event()
        threads = [threading.Thread(target=_writer, args=(server.base, write_token, a, traffic, stop))
                   for a in asset_ids]
        threads += [threading.Thread(target=_reader, args=(server.base, read_token, traffic, stop))
                    for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(2)
        down_at = time.monotonic()
        pg.stop("fast")  # aborts open transactions, drops every connection; returns once it is down
        down_done = time.monotonic()
        time.sleep(2)
        health_down = requests.get(server.base + "/healthz", timeout=5).status_code
        restart_at = time.monotonic()  # PostgreSQL may accept connections before pg_ctl returns
        pg.start()
        up_at = time.monotonic()
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)

        statuses = {s for *_, s in traffic.log}
        crashes = [line for line in server.log.read_text().splitlines() if "Error" in line and "WARNING" not in line]
        assert statuses <= {200, 503, 412, "conn"}, (statuses, crashes[-20:])  # never a 500
        assert health_down == 503
        before = [s for _, end, _, s in traffic.log if end < down_at]
        during = [s for start, end, _, s in traffic.log if down_done < start and end < restart_at]
        recovered = [s for start, _, _, s in traffic.log if start > up_at + 1.5]
        first_ok = min(end for start, end, _, s in traffic.log if start > up_at and s == 200) - up_at
        print(f"\nrestart drill: {len(traffic.log)} requests, {len(before)} before (all 200), {len(during)} while "
              f"down ({during.count(503)} x 503), first 200 {first_ok:.2f} s after PostgreSQL was back, "
              f"{len(recovered)} after (all 200)")
        assert before and set(before) == {200}
        assert during and 503 in during and 200 not in during
        # The app recovers by itself (pool_pre_ping replaces dead connections): same workers, all 200.
        assert recovered and set(recovered) == {200}, recovered
        assert sorted(server.worker_pids()) == workers_before
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200

        with app.app_context():
            for asset_id in asset_ids:
                asset = db.session.get(Asset, asset_id)
                changes = db.session.scalars(sa.select(AssetChange).where(
                    AssetChange.asset_id == asset_id, AssetChange.field == "name").order_by(AssetChange.id)).all()
                # Every committed write moved the version by one and left exactly one history row ...
                assert asset.version == 1 + len(changes)
                assert [c.before for c in changes[1:]] == [c.after for c in changes[:-1]]
                assert changes[-1].after == asset.name
                # ... and every write the client was told succeeded is there (none lost).
                confirmed = traffic.confirmed[asset_id]
                assert set(confirmed) <= {c.after for c in changes}
            db.session.remove()
            db.engine.dispose()
        flask_cli(env, "registry", "audit", "verify")
    finally:
        if server is not None:
            server.stop()
        pg.destroy()


# --- kill -9 of a gunicorn worker in the middle of an import ----------------------------------------

IMPORT_ROWS = 8000


def _big_elevator_workbook(rows: int) -> bytes:
    return workbook([good_row(n, 设备编码=f"KILL-{n:06d}") for n in range(rows)])


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, html[:2000]
    return match.group(1)


def _writer_active(database_url: str) -> bool:
    """Tell whether another connection holds an open write transaction right now."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return bool(conn.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")))
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
                return False
            except sa.exc.OperationalError:
                return True
    finally:
        engine.dispose()


def test_kill_9_worker_mid_import_leaves_no_half_import(app, database_url, tmp_path):
    with app.app_context():
        factories.make_user("maintainer", "zjj", username="importer")
        factories.make_asset(Category.ELEVATOR)
    data = _big_elevator_workbook(IMPORT_ROWS)
    server = Gunicorn(server_env(database_url, tmp_path), tmp_path / "gunicorn.log", workers=1, threads=2)
    try:
        s = requests.Session()
        token = _csrf(s.get(server.base + "/login").text)
        r = s.post(server.base + "/login", data={"username": "importer", "password": factories.TEST_PASSWORD,
                                                 "csrf_token": token}, allow_redirects=False)
        assert r.status_code == 302, r.text[:500]
        form_token = _csrf(s.get(server.base + "/assets/transfer").text)
        with app.app_context():
            before = snapshot()
        [victim] = server.worker_pids()
        outcome = {}

        def upload():
            try:
                outcome["status"] = s.post(server.base + "/assets/import", data={
                    "category": "elevator", "csrf_token": form_token},
                    files={"file": ("演练.xlsx", data)}, timeout=120).status_code
            except requests.RequestException as exc:
                outcome["error"] = type(exc).__name__

        thread = threading.Thread(target=upload)
        thread.start()
        # Wait until a write transaction has been open for a while: the import's, not a short bookkeeping write.
        deadline, since = time.monotonic() + 90, None
        while since is None or time.monotonic() - since < 0.3:
            assert time.monotonic() < deadline and thread.is_alive(), f"import never started writing: {outcome}"
            since = (since or time.monotonic()) if _writer_active(database_url) else None
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)  # mid-write: the import's transaction is open
        thread.join(30)
        assert "status" not in outcome, outcome  # the client saw the connection die, not a success
        with app.app_context():
            assert snapshot() == before  # nothing of the import is left
        server.wait_ready()  # the master starts a new worker
        assert server.worker_pids() != [victim]

        # The same file goes through completely on the new worker.
        form_token = _csrf(s.get(server.base + "/assets/transfer").text)
        again = s.post(server.base + "/assets/import", data={"category": "elevator", "csrf_token": form_token},
                       files={"file": ("演练.xlsx", data)}, timeout=300)
        assert again.status_code == 200, again.text[:2000]
        with app.app_context():
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
            db.session.rollback()
        assert count == before["assets"][0] + IMPORT_ROWS
    finally:
        server.stop()


# --- kill -9 of the notice job after one department's notices are committed -------------------------

def _job_env(database_url: str, tmp_path: Path, sleep: float) -> dict:
    return server_env(database_url, tmp_path, REGISTRY_TEST_JOB_SLEEP=str(sleep),
                      REGISTRY_JOB_NIGHTLY_EVALUATION_CRON="0 0 29 2 *",
                      REGISTRY_JOB_MONTHLY_OVERDUE_REMINDER_CRON="0 0 29 2 *",
                      REGISTRY_JOB_YEARLY_PLANNING_DRAFT_CRON="0 0 29 2 *",
                      REGISTRY_JOB_NOTICE_GENERATION_CRON="0 0 * * *",
                      REGISTRY_JOB_MISFIRE_GRACE_SECONDS=str(48 * 3600), REGISTRY_JOB_HEARTBEAT_SECONDS="1")


def test_kill_9_notice_job_then_next_start_finishes_without_duplicates(app, database_url, tmp_path):
    from registry import clock
    from registry.jobs.models import JobRun
    from registry.jobs.services import run_job
    from registry.notices.models import Notice
    from registry.enums import NoticeStatus
    from registry.rules.versions import seed_packs
    from tests.test_jobs_wiring import WORN
    with app.app_context():
        today = clock.today()
        seed_packs(("plan",))
        for year in (2008, 2010):
            factories.make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(year, 3, 1),
                                 manufactured_on=date(year, 1, 1), design_life_years=10, detail=WORN)
        assert run_job("nightly-evaluation", today.isoformat()).status == "succeeded"

    cmd = [sys.executable, "-m", "flask", "--app", "registry", "registry"]
    victim = subprocess.Popen(cmd + ["jobs", "run", "notice-generation"], cwd=ROOT, text=True,
                              env=_job_env(database_url, tmp_path, 60), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    seen, deadline = "", time.monotonic() + 60
    while "notice-generation-paused" not in seen and time.monotonic() < deadline and victim.poll() is None:
        seen += victim.stderr.readline()
    assert "notice-generation-paused" in seen, seen
    with app.app_context():
        issued = db.session.scalars(sa.select(Notice)).all()
        assert len(issued) >= 1  # this department's drafts are committed; the run is not finished
        first_ids = sorted(n.id for n in issued)
        db.session.rollback()
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    victim.stdout.close()
    victim.stderr.close()

    redo = subprocess.run(cmd + ["scheduler", "--once"], cwd=ROOT, env=_job_env(database_url, tmp_path, 0),
                          capture_output=True, text=True, timeout=120)
    assert redo.returncode == 0, redo.stdout + redo.stderr
    with app.app_context():
        runs = db.session.execute(sa.select(JobRun.attempt, JobRun.status).where(
            JobRun.job_id == "notice-generation").order_by(JobRun.attempt)).all()
        assert [tuple(r) for r in runs] == [(1, JobStatus.ABANDONED), (2, JobStatus.SUCCEEDED)], redo.stderr
        notices = db.session.scalars(sa.select(Notice)).all()
        assert sorted(n.id for n in notices)[:len(first_ids)] == first_ids  # nothing drafted twice
        item_assets = [i.asset_id for n in notices for i in n.items]
        assert len(item_assets) == len(set(item_assets)) == 2
        # The job drafts only: no number, no stored PDF, until a department head signs.
        assert all(n.status is NoticeStatus.DRAFT and n.number is None for n in notices)
