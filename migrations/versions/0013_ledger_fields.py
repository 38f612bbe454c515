"""ledger fields: what real ledgers carry and the rules need

Elevators: rated load and speed, maintenance company and phone, next inspection date and
whether the elevator serves housing (XZ-7's scope). Cars: the 行驶证 vehicle type; 国一/国二
join the emission standards. Farm machines: factory serial number, emission stage, purchase
subsidy. Construction machines: factory serial number (the natural key with 型号).

Revision ID: 0013_ledger_fields
Revises: 0012_disposals
Create Date: 2026-12-02 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_ledger_fields"
down_revision = "0012_disposals"
branch_labels = None
depends_on = None

STAGES = ("pre1", "stage1", "stage2", "stage3", "stage4", "electric")
OLD_STANDARDS = ("guo3", "guo4", "guo5", "guo6a", "guo6b", "none")
NEW_STANDARDS = ("guo1", "guo2") + OLD_STANDARDS


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys (outside a transaction, where the pragma takes effect)."""
    # Adding a CHECK rebuilds a SQLite table (copy, DROP, rename); with foreign keys on, that DROP
    # would cascade to (or be refused by) the rows that reference it. Same as 0009.
    if op.get_bind().dialect.name == "sqlite":
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("elevator_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rated_load_kg", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rated_speed_ms", sa.Numeric(precision=4, scale=2), nullable=True))
        batch_op.add_column(sa.Column("maintenance_company", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("maintenance_phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("next_inspection_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("serves_housing", sa.Boolean(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_elevator_details_rated_load_positive"),
                                         "rated_load_kg IS NULL OR rated_load_kg > 0")
        batch_op.create_check_constraint(op.f("ck_elevator_details_rated_speed_positive"),
                                         "rated_speed_ms IS NULL OR rated_speed_ms > 0")
    with op.batch_alter_table("construction_machine_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("factory_serial_no", sa.String(length=60), nullable=True))
    with op.batch_alter_table("farm_machine_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("factory_serial_no", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("emission_stage", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("purchase_subsidy", sa.Boolean(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_farm_machine_details_nonroademissionstage"),
                                         _in("emission_stage", STAGES))
    with op.batch_alter_table("official_car_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("license_vehicle_type", sa.String(length=32), nullable=True))
        batch_op.drop_constraint(op.f("ck_official_car_details_emissionstandard"), type_="check")
        batch_op.create_check_constraint(op.f("ck_official_car_details_emissionstandard"),
                                         _in("emission_standard", NEW_STANDARDS))
    _sqlite_foreign_keys(True)


def downgrade():
    # Fails if a car holds 国一/国二: those rows have no place in the older schema.
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("official_car_details", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_official_car_details_emissionstandard"), type_="check")
        batch_op.create_check_constraint(op.f("ck_official_car_details_emissionstandard"),
                                         _in("emission_standard", OLD_STANDARDS))
        batch_op.drop_column("license_vehicle_type")
    with op.batch_alter_table("farm_machine_details", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_farm_machine_details_nonroademissionstage"), type_="check")
        batch_op.drop_column("purchase_subsidy")
        batch_op.drop_column("emission_stage")
        batch_op.drop_column("factory_serial_no")
    with op.batch_alter_table("construction_machine_details", schema=None) as batch_op:
        batch_op.drop_column("factory_serial_no")
    with op.batch_alter_table("elevator_details", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_elevator_details_rated_speed_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_elevator_details_rated_load_positive"), type_="check")
        batch_op.drop_column("serves_housing")
        batch_op.drop_column("next_inspection_on")
        batch_op.drop_column("maintenance_phone")
        batch_op.drop_column("maintenance_company")
        batch_op.drop_column("rated_speed_ms")
        batch_op.drop_column("rated_load_kg")
    _sqlite_foreign_keys(True)
