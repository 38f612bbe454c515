"""A benchmark's app on a database migrated from nothing: one definition for every bench script."""
from __future__ import annotations


def fresh_app(database_url: str, *, reference_data: bool = True, **config):
    """Return an app on `database_url`, migrated from an empty schema (a PostgreSQL schema is WIPED).

    `reference_data` adds the departments, townships and rules every workflow needs; `config`
    overrides the app's settings (SECRET_KEY defaults to "bench").
    """
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from registry import create_app
    from registry.extensions import db
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", **config})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        if reference_data:
            from registry.orgs.reference import ensure_reference_data
            ensure_reference_data()
    return app
