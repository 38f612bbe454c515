"""Render many notices at once in a process pool: one child per core, each with its own app.

WeasyPrint (cairo, pango, fontconfig) is not safe to use in a child forked from a process whose threads
have started (a gunicorn thread, the task worker's threads), so children come from the 'forkserver'
context: a clean server process forks them, and it has imported nothing but this module. Each child
builds its own app with `create_app` from the parent's settings, renders notices by id with the same
`render_notice` the request uses (byte-identical output), and hands the bytes back; the parent stores
them, so the database rows are written by one process in one transaction. As with any spawned
child, a script that starts the pool must guard its entry point (`if __name__ == "__main__":`):
the children import the main module (flask, gunicorn, the worker and pytest do).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator

from flask import Flask, current_app

from registry import create_app
from registry.config import DEFAULTS
from registry.extensions import db
from registry.notices.models import Notice
from registry.notices.printing import render_notice
from registry.notices.storage import notices_dir, seals_dir

CONTEXT = "forkserver"
CHUNK = 4  # notices per message to a child: fewer round trips, still an even spread over the cores

_child: dict[str, Any] = {}


def child_settings(app: Flask) -> dict[str, Any]:
    """Return the settings a child app needs to render exactly as `app` does (database, folders, base URL, keys)."""
    settings = {name: app.config[name] for name in DEFAULTS if name in app.config}
    settings["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    # The folders as this app resolves them (its instance folder may not be the child's default one):
    # a seal read from another folder would change the PDF.
    settings["FILES_ROOT"] = app.config.get("FILES_ROOT") or app.instance_path
    settings["NOTICE_FILES_DIR"], settings["SEAL_FILES_DIR"] = str(notices_dir()), str(seals_dir())
    settings["TESTING"] = app.config.get("TESTING", False)
    settings["TASKS_IMMEDIATE"] = True  # a child never enqueues; it must not open the task queue's storage
    return settings


def _start_child(settings: dict[str, Any]) -> None:
    """Build this child's app and keep its context pushed for every notice it renders."""
    app = create_app(settings)
    ctx = app.app_context()
    ctx.push()
    _child["app"], _child["ctx"] = app, ctx


def _render_by_id(notice_id: int) -> bytes:
    """Render one signed notice in a child (the row is read fresh, the session cleared after)."""
    try:
        notice = db.session.get(Notice, notice_id)
        if notice is None:
            raise LookupError(f"notice {notice_id} not found")
        return render_notice(notice)
    finally:
        db.session.remove()


def workers_for(count: int) -> int:
    """Return how many children to start for `count` notices: one per core, never more than the notices."""
    return max(1, min(os.cpu_count() or 1, count))


def render_in_pool(notice_ids: list[int], progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Yield the PDF of each notice id, in order, rendered by a pool of os.cpu_count() children."""
    if not notice_ids:
        return
    mp = multiprocessing.get_context(CONTEXT)
    mp.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers_for(len(notice_ids)), mp_context=mp, initializer=_start_child,
                             initargs=(child_settings(current_app._get_current_object()),)) as pool:
        for n, data in enumerate(pool.map(_render_by_id, notice_ids, chunksize=CHUNK), 1):
            if progress:
                progress(n)
            yield data

