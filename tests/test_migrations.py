"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from registry.assets.search import include_object
from registry.extensions import db


# SQLite cannot reflect expression indexes; alembic says so and leaves them out of the comparison
# (tests/test_sparse_filters.py checks them on both databases).
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_models_and_migrations_do_not_drift(ctx):
    with db.engine.connect() as conn:
        # The search structures of migration 0019 (FTS5 tables, expression indexes) have no model.
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True,
                                                    "include_object": include_object})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_single_migration_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def _check_names(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_check_constraints(table)}


def test_no_check_compares_with_the_servers_date(ctx):
    # CURRENT_DATE is the server's UTC day; "not in the future" is the services' job (registry.clock).
    for table in ("assets", "elevator_details", "condition_assessments"):
        assert not {n for n in _check_names(table) if n.endswith("_not_future")}, table
    assert {"ck_assets_manufactured_before_commissioned", "ck_assets_manufactured_before_registered",
            "ck_assets_design_life_range", "ck_assets_category"} <= _check_names("assets")
    assert "ck_elevator_details_floors_positive" in _check_names("elevator_details")


def test_dropping_the_date_checks_keeps_sqlite_rows(tmp_path):
    """On SQLite the tables are rebuilt; rows and the rows that reference them must survive."""
    from flask_migrate import downgrade, upgrade
    from registry import create_app
    from registry.assets.models import Asset, ConditionAssessment, ElevatorDetail
    from registry.enums import Category, ConditionGrade
    from registry.orgs.reference import ensure_reference_data
    from tests import factories
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///" + str(tmp_path / "m.db")})
    with app.app_context():
        upgrade(revision="0007_jobs")
        ensure_reference_data()
        # The models are newer than revision 0007: the detail row is written with the columns 0007 has.
        from registry.orgs.reference import department_for_category
        unit = factories.make_unit()
        asset = Asset(code="M-DT-1", category=Category.ELEVATOR, name="电梯", owner_unit=unit, user_unit=unit,
                      township=unit.township, department=department_for_category(Category.ELEVATOR))
        db.session.add(asset)
        db.session.flush()
        db.session.execute(sa.insert(ElevatorDetail.__table__).values(
            asset_id=asset.id, elevator_type="traction", last_inspection_on=date(2026, 1, 5)))
        db.session.add(ConditionAssessment(asset_id=asset.id, assessed_on=date(2026, 2, 1), assessor="李四",
                                           grade=ConditionGrade.GOOD, findings=""))
        db.session.commit()
        upgrade()
        counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m))
                  for m in (Asset, ElevatorDetail, ConditionAssessment)]
        assert counts == [1, 1, 1]
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        assert "ck_assets_manufactured_on_not_future" not in _check_names("assets")
        with pytest.raises(IntegrityError):  # a clock-independent check still holds
            db.session.execute(sa.text("UPDATE assets SET manufactured_on = '2016-01-01', "
                                       "commissioned_on = '2015-01-01'"))
        db.session.rollback()
        downgrade(revision="0007_jobs")
        assert "ck_assets_manufactured_on_not_future" in _check_names("assets")
        db.session.remove()
        db.engine.dispose()


def test_running_migrations_keeps_the_application_loggers(tmp_path):
    """Alembic's logging setup must not disable loggers the live app already made (restore runs it in-process)."""
    import logging

    from flask_migrate import upgrade
    from registry import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///" + str(tmp_path / "l.db")})
    assert not app.logger.disabled
    with app.app_context():
        upgrade()
    assert not app.logger.disabled
    assert not logging.getLogger("registry.pdf").disabled
