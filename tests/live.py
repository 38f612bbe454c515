"""Real processes for fault drills: a private PostgreSQL cluster and a gunicorn server.

The private cluster lives in a temporary directory on its own port, so a test may restart or kill it
without touching the cluster the rest of the suite (and other people) use.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/install-system-deps.sh), driven by Playwright


@contextmanager
def chromium():
    """Yield a headless chromium (Debian's, driven by Playwright); close it after."""
    from playwright.sync_api import sync_playwright
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"chromium is not installed at {CHROMIUM} (scripts/install-system-deps.sh)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                    "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(app):
    """Serve `app` from a thread on a free loopback port; yield its base URL; stop it and close its pool after."""
    from werkzeug.serving import make_server
    from registry.extensions import db
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()  # close pooled connections now, not at garbage collection in a later test


def worker_until_finished(app, env: dict, task_id: int, *worker_args: str, timeout: float = 90) -> str:
    """Run `flask registry worker` until the task `task_id` is done or failed (or `timeout`); return its output."""
    from registry.enums import TaskStatus
    from registry.extensions import db
    from registry.tasks.models import BackgroundTask
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "registry", "registry", "worker", *worker_args],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with app.app_context():
                status = db.session.scalar(sa.select(BackgroundTask.status).where(BackgroundTask.id == task_id))
                db.session.remove()
            if status in (TaskStatus.DONE, TaskStatus.FAILED):
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    return output


def free_port() -> int:
    """Return a TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> str | None:
    """Return the directory holding initdb/pg_ctl of the newest installed PostgreSQL, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb in `root`), trust auth on 127.0.0.1:`port`."""

    def __init__(self, root: Path):
        self.bindir = postgres_bindir()
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://registry@127.0.0.1:{self.port}/registry"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in cmd)]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> "PrivatePostgres":
        """Create, start and give the cluster a `registry` role and database."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self.start()
        for sql in ("CREATE ROLE registry LOGIN", "CREATE DATABASE registry OWNER registry"):
            self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", sql)
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "pg.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast` aborts open transactions and disconnects every client)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def psql(self, sql: str) -> str:
        """Run one SQL statement as the superuser and return its unaligned output."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "registry",
                         "-qtAc", sql).stdout.strip()

    def destroy(self) -> None:
        """Stop the server (immediately) and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def server_env(database_url: str, files_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a registry process (gunicorn or flask CLI) against `database_url`."""
    env = dict(os.environ)
    env.update({
        "REGISTRY_DATABASE_URL": database_url, "REGISTRY_SECRET_KEY": "drill-secret",
        "REGISTRY_NOTICE_FILES_DIR": str(files_dir / "notices"), "REGISTRY_SEAL_FILES_DIR": str(files_dir / "seals"),
        "REGISTRY_RATELIMIT_ENABLED": "0", "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def flask_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `flask --app registry ARGS` in its own process and fail loudly if it fails."""
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "registry", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


class Gunicorn:
    """gunicorn serving wsgi:app with the production config, on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2, threads: int = 2, timeout: int = 60):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(workers),
                   GUNICORN_THREADS=str(threads), GUNICORN_TIMEOUT=str(timeout), GUNICORN_ACCESS_LOG="-")
        self.log = log
        self._fh = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                     cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        """Wait until /health answers."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start:\n" + self.log.read_text())

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        """Stop the master (and its workers) and close the log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._fh.close()
