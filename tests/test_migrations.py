"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from registry.extensions import db


def test_models_and_migrations_do_not_drift(ctx):
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_single_migration_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads
