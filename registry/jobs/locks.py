"""A per-job lock held for the whole run, which dies with the process that holds it.

PostgreSQL: a session-level advisory lock on a dedicated connection; the server drops it
when the connection closes, so a process killed with -9 releases it at once, on any host.
SQLite (one host): an exclusive `flock` on a file beside the database; the kernel drops it
when the process dies. Holding the lock therefore proves that no other live process is
running the job, and a row still marked "running" without it is an interrupted run.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from typing import Iterator

import sqlalchemy as sa
from flask import current_app

from registry.extensions import db


def advisory_key(job_id: str) -> int:
    """Return a stable signed 64-bit key for the job's advisory lock."""
    digest = hashlib.sha256(f"registry-job:{job_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file_path(job_id: str) -> str:
    """Return the lock file used for `job_id` on SQLite (next to the database file)."""
    database = db.engine.url.database
    if not database or database == ":memory:":
        base = os.path.join(current_app.instance_path, "registry")
    else:
        base = os.path.abspath(database)
    return f"{base}.job-{job_id}.lock"


@contextlib.contextmanager
def job_lock(job_id: str) -> Iterator[bool]:
    """Try to take the job's lock without waiting; yield whether it is held."""
    if db.engine.dialect.name == "postgresql":
        with _pg_lock(job_id) as held:
            yield held
    else:
        with _file_lock(lock_file_path(job_id)) as held:
            yield held


@contextlib.contextmanager
def _pg_lock(job_id: str) -> Iterator[bool]:
    key = advisory_key(job_id)
    conn = db.engine.connect()
    try:
        held = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        conn.close()


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
