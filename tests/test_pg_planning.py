"""PostgreSQL plans every statement for its own values, and knows a table's size right after an import.

Both were found by the 100k ledger benchmark on PostgreSQL: the chunked `code IN (...)` lookups of a
re-import ran as generic plans (psycopg prepares a statement after five runs) built on the
statistics of a table that was empty a moment before, reading the whole table for every chunk.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.config import engine_options
from registry.extensions import db
from tests.corpus.make_corpus import good_row, workbook


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def test_psycopg_connections_never_prepare_statements():
    assert engine_options("postgresql+psycopg://u:p@h/db")["connect_args"] == {"prepare_threshold": None}
    assert "connect_args" not in engine_options("sqlite:////tmp/x.db")
    assert "connect_args" not in engine_options("postgresql+psycopg2://u:p@h/db")  # psycopg2 has no such option


def test_a_statement_run_many_times_stays_unprepared(app):
    with app.app_context():
        if not _on_postgresql():
            pytest.skip("PostgreSQL only: SQLite has no server-side prepared statements; "
                        "runs in the PostgreSQL pass of make test")
        with db.engine.connect() as conn:
            for n in range(12):
                conn.execute(sa.text("SELECT count(*) FROM assets WHERE code IN (:a, :b)"), {"a": str(n), "b": "x"})
            prepared = conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
        assert prepared == 0


def test_a_large_import_leaves_fresh_statistics(app, monkeypatch):
    from registry import bulk
    from registry.transfer.importer import run_import
    with app.app_context():
        if not _on_postgresql():
            pytest.skip("PostgreSQL only: SQLite's planner keeps no row statistics the import could refresh; "
                        "runs in the PostgreSQL pass of make test")
        monkeypatch.setattr(bulk, "ANALYZE_AFTER_ROWS", 3)

        def analysed() -> dict[str, int]:
            rows = db.session.execute(sa.text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE relname IN ('assets', 'elevator_details')")).all()
            db.session.rollback()
            return dict(rows)

        before = analysed()
        small = run_import(workbook([good_row(1), good_row(2)]), "电梯.xlsx")
        assert small.ok and small.created == 2
        assert analysed() == before  # two rows: below the threshold, nothing to refresh
        large = run_import(workbook([good_row(n) for n in range(3, 7)]), "电梯.xlsx")
        assert large.ok and large.created == 4
        after = analysed()
        assert {name: after[name] - before.get(name, 0) for name in after} == {"assets": 1, "elevator_details": 1}
        dry = run_import(workbook([good_row(n) for n in range(7, 12)]), "电梯.xlsx", dry_run=True)
        assert dry.ok
        assert analysed() == after  # a dry run writes nothing, so it refreshes nothing
