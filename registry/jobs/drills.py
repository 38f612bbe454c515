"""Test-only pause points inside long jobs, so a fault drill can kill -9 the process at a known step."""
from __future__ import annotations

import sys
import time

from flask import current_app


def pause_point(label: str) -> None:
    """Sleep REGISTRY_TEST_JOB_SLEEP seconds at `label` (announced on stderr); a no-op in normal use."""
    seconds = float(current_app.config.get("TEST_JOB_SLEEP") or 0)
    if seconds > 0:
        print(f"{label}-paused {seconds}", file=sys.stderr, flush=True)
        time.sleep(seconds)
