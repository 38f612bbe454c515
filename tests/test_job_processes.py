"""Exactly-once across real processes: `flask registry jobs run` and `flask registry scheduler --once`.

These start real OS processes against the test database (SQLite file or PostgreSQL), so the
locks, the unique constraint and the one-transaction snapshot write are tested as deployed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.enums import Category, JobStatus
from registry.extensions import db
from registry import clock
from registry.jobs.models import JobRun
from registry.snapshots.models import Snapshot, SnapshotItem
from tests.factories import make_asset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "tests.frozen_flask", "--app", "registry", "registry"]
NIGHTLY = "nightly-evaluation"


def _env(database_url: str, sleep: float = 0) -> dict:
    env = dict(os.environ)
    env.update({
        "REGISTRY_DATABASE_URL": database_url, "REGISTRY_SECRET_KEY": "test-secret",
        "REGISTRY_SNAPSHOT_SOURCE": "tests.fake_source:collect", "REGISTRY_TEST_JOB_SLEEP": str(sleep),
        # Due every midnight, so the last due period is always today; other jobs far from due.
        "REGISTRY_JOB_NIGHTLY_EVALUATION_CRON": "0 0 * * *",
        "REGISTRY_JOB_MONTHLY_OVERDUE_REMINDER_CRON": "0 0 1 1 *",
        "REGISTRY_JOB_MISFIRE_GRACE_SECONDS": str(48 * 3600),
        "REGISTRY_JOB_HEARTBEAT_SECONDS": "1",
        "PYTHONPATH": str(ROOT),
    })
    if "REGISTRY_TEST_FREEZE" in env:  # the children start at this process's (frozen, ticking) instant
        env["REGISTRY_TEST_FREEZE"] = datetime.now(timezone.utc).isoformat()
    return env


def _start(args, env) -> subprocess.Popen:
    return subprocess.Popen(FLASK + args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


def _state():
    db.session.remove()
    runs = db.session.execute(sa.select(JobRun.attempt, JobRun.status).where(JobRun.job_id == NIGHTLY)
                              .order_by(JobRun.attempt)).all()
    snapshots = db.session.scalars(sa.select(Snapshot)).all()
    items = db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotItem))
    return [tuple(r) for r in runs], snapshots, items


@pytest.fixture
def inventory(app, ctx):
    """Three assets: two on the list, one that cannot be evaluated."""
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    make_asset(Category.PIPE, commissioned_on=date(2005, 5, 5))
    make_asset(Category.OFFICIAL_CAR, commissioned_on=None)
    return 3


def test_two_processes_one_run(inventory, database_url):
    # One `jobs run` and one scheduler start race for today's nightly period: one run, one snapshot.
    env = _env(database_url, sleep=2)
    procs = [_start(["jobs", "run", NIGHTLY], env), _start(["scheduler", "--once"], env)]
    results = [_finish(p) for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    outputs = " ".join(text for _, text in results)
    assert "succeeded" in outputs and ("busy" in outputs or "already-done" in outputs), outputs
    runs, snapshots, items = _state()
    assert runs == [(1, JobStatus.SUCCEEDED)]
    assert len(snapshots) == 1 and items == 3 and snapshots[0].as_of == clock.today()


def test_kill_9_halfway_then_next_start_redoes_it(inventory, database_url):
    victim = _start(["jobs", "run", NIGHTLY], _env(database_url, sleep=60))
    deadline = time.monotonic() + 30
    seen = ""
    while "snapshot-write-paused" not in seen and time.monotonic() < deadline:
        seen += victim.stderr.readline()
    assert "snapshot-write-paused" in seen, seen
    # Halfway: the run is claimed and its items are written, but nothing is committed yet.
    runs, snapshots, items = _state()
    assert runs == [(1, JobStatus.RUNNING)] and snapshots == [] and items == 0
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    victim.stdout.close()
    victim.stderr.close()

    code, text = _finish(_start(["scheduler", "--once"], _env(database_url)))
    assert code == 0, text
    runs, snapshots, items = _state()
    assert runs == [(1, JobStatus.ABANDONED), (2, JobStatus.SUCCEEDED)], text
    assert len(snapshots) == 1 and items == 3  # no duplicate snapshot, no lost finding
    db.session.remove()
    abandoned = db.session.scalar(sa.select(JobRun).where(JobRun.attempt == 1))
    assert abandoned.pid == victim.pid and "已中断" in abandoned.error
