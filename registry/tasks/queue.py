"""The task queue: huey (its SQL storage) on the application's own database, SQLite or PostgreSQL.

The web process only enqueues; `flask registry worker` (its own process, any number of hosts) runs
the work. On PostgreSQL workers claim messages with FOR UPDATE SKIP LOCKED, so hosts never take the
same task twice. TASKS_IMMEDIATE (tests) runs each task at once, in the caller, on huey's memory storage.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from flask import Flask, current_app
from huey.contrib.sql_huey import SqlHuey, SqlStorage

from registry.tasks.models import QUEUE_TABLES

QUEUE_NAME = "registry"
EXTENSION = "task_queue"


class RegistryStorage(SqlStorage):
    """huey's SQL storage on the tables the migrations created (never its own CREATE TABLE)."""

    def create_models(self):
        """Return huey's models, renamed to the registry's queue tables."""
        models = super().create_models()
        for model in models:
            model._meta.set_table_name(QUEUE_TABLES[model.__name__])
        return models


def peewee_url(sqlalchemy_url: str) -> str:
    """Translate the application's SQLAlchemy URL into the one huey's storage (peewee) understands."""
    url = sa.engine.make_url(sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database or ':memory:'}"
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="psycopg3").render_as_string(hide_password=False)
    raise ValueError(f"the task queue supports SQLite and PostgreSQL, not {url.get_backend_name()}")


def init_app(app: Flask, run: Callable[[int], None]) -> None:
    """Build this app's queue; `run(task_id)` is what a worker calls for each message."""
    immediate = bool(app.config["TASKS_IMMEDIATE"])
    if immediate:
        queue = SqlHuey(QUEUE_NAME, immediate=True, database="sqlite:///:memory:", create_tables=False)
    else:
        queue = SqlHuey(QUEUE_NAME, storage_class=RegistryStorage, create_tables=False,
                        database=peewee_url(app.config["SQLALCHEMY_DATABASE_URI"]))

    @queue.task(name="registry.run_task")
    def run_task(task_id: int) -> None:
        with app.app_context():
            run(task_id)

    app.extensions[EXTENSION] = {"huey": queue, "run_task": run_task}


def enqueue(task_id: int) -> None:
    """Hand a committed task to the workers (in TASKS_IMMEDIATE mode: run it now)."""
    ext = current_app.extensions[EXTENSION]
    try:
        ext["run_task"](task_id)
    finally:
        if not ext["huey"].immediate:
            # A web worker enqueues rarely: a fresh connection each time survives a database restart,
            # and none stays open between requests.
            ext["huey"].storage.close()


def huey_of(app: Flask) -> SqlHuey:
    """Return the app's huey instance (the worker's consumer runs it)."""
    return app.extensions[EXTENSION]["huey"]
