"""Suspend the append-only triggers on audit_records, only inside one transaction.

The triggers (migration 0002_accounts) refuse every UPDATE, DELETE and TRUNCATE. Only
retention pruning and the test suite's table cleaning may lift them, and only for the
duration of the transaction they run in: the DDL rolls back with it.
"""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

_SQLITE_TRIGGERS = {
    "audit_records_no_update": "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records "
                               "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END",
    "audit_records_no_delete": "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records "
                               "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END",
}


@contextmanager
def triggers_suspended(conn):
    """Lift the append-only triggers on `conn` for the body of the block (same transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
        yield
        conn.execute(sa.text("ALTER TABLE audit_records ENABLE TRIGGER USER"))
    else:
        for name in _SQLITE_TRIGGERS:
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
        yield
        for ddl in _SQLITE_TRIGGERS.values():
            conn.execute(sa.text(ddl))


def triggers_installed(conn) -> int:
    """Return how many append-only triggers guard audit_records (for health checks and tests)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = 'audit_records' AND NOT t.tgisinternal AND t.tgenabled <> 'D'")).scalar_one()
    return conn.execute(sa.text(
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_records'")).scalar_one()
