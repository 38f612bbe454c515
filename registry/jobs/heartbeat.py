"""A background thread that stamps a running job's heartbeat, for people watching the runs page."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from registry.db_types import utcnow
from registry.enums import JobStatus
from registry.jobs.models import JobRun


class Heartbeat:
    """Update `job_runs.heartbeat_at` every `interval` seconds on its own connection.

    Best effort: the lock, not the heartbeat, decides whether a run is alive. On SQLite the
    job's own write transaction blocks the update, which is then skipped.
    """

    def __init__(self, engine, run_id: int, interval: float):
        self.engine, self.run_id, self.interval = engine, run_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat is harmless; the lock decides liveness
                pass

    def beat(self) -> None:
        """Stamp the heartbeat once."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET lock_timeout = '2s'"))
            else:
                conn.execute(sa.text("PRAGMA busy_timeout = 500"))
            table = JobRun.__table__
            conn.execute(sa.update(table).where(table.c.id == self.run_id, table.c.status == JobStatus.RUNNING)
                         .values(heartbeat_at=utcnow()))
            conn.commit()
