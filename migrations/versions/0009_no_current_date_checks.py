"""no CURRENT_DATE checks: drop the "not in the future" CHECK constraints

The database's CURRENT_DATE is the server's UTC date, a day behind Beijing between 00:00 and
08:00, so these constraints refused today's local date. The services check "not in the future"
with the local date (registry.clock.today()); clock-independent checks (manufactured_on <=
commissioned_on, ranges, enums) stay.

Revision ID: 0009_no_current_date_checks
Revises: 0007_jobs
Create Date: 2026-12-02 03:56:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_no_current_date_checks"
down_revision = "0007_jobs"
branch_labels = None
depends_on = None

# table -> the date columns whose "<= CURRENT_DATE" check goes (named ck_<table>_<column>_not_future).
NOT_FUTURE = {
    "assets": ("manufactured_on", "commissioned_on", "registered_on", "condition_assessed_on"),
    "elevator_details": ("last_inspection_on",),
    "condition_assessments": ("assessed_on",),
}


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys (outside a transaction, where the pragma takes effect)."""
    # Batch mode rebuilds a SQLite table: copy, DROP, rename. With foreign keys on, that DROP
    # would cascade to (or be refused by) the rows that reference the table.
    if op.get_bind().dialect.name == "sqlite":
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    for table, columns in NOT_FUTURE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}_not_future"), type_="check")
    _sqlite_foreign_keys(True)


def downgrade():
    # Restores the UTC-day checks; fails if a row holds a date later than the server's UTC day.
    _sqlite_foreign_keys(False)
    for table, columns in NOT_FUTURE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}_not_future"),
                                                 f"{column} IS NULL OR {column} <= CURRENT_DATE")
    _sqlite_foreign_keys(True)
