"""2023 baselines per department: department, measure as an enumeration, note and version

Revision ID: 0017_outcome_baselines
Revises: 0016_background_tasks
Create Date: 2026-12-02 08:00:00

No code path wrote plan_baselines before this revision; a row without a department would make
the NOT NULL column fail loudly here rather than be guessed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017_outcome_baselines"
down_revision = "0016_background_tasks"
branch_labels = None
depends_on = None

MEASURES = ("investment", "scrapped_cars")


def upgrade():
    with op.batch_alter_table("plan_baselines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("note", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_foreign_key(batch_op.f("fk_plan_baselines_department_id_departments"), "departments",
                                    ["department_id"], ["id"])
        batch_op.drop_constraint("uq_plan_baselines_measure_sector", type_="unique")
        batch_op.create_unique_constraint("uq_plan_baselines_measure_department_sector_year",
                                          ["measure", "department_id", "sector", "year"])
        batch_op.alter_column("measure", existing_type=sa.String(length=32),
                              type_=sa.Enum(*MEASURES, name="baselinemeasure", native_enum=False,
                                            create_constraint=True, length=32),
                              existing_nullable=False)
    with op.batch_alter_table("plan_baselines", schema=None) as batch_op:
        batch_op.alter_column("note", server_default=None)
        batch_op.alter_column("version", server_default=None)


def downgrade():
    with op.batch_alter_table("plan_baselines", schema=None) as batch_op:
        batch_op.alter_column("measure", existing_type=sa.Enum(*MEASURES, name="baselinemeasure", native_enum=False,
                                                               create_constraint=True, length=32),
                              type_=sa.String(length=32), existing_nullable=False)
        batch_op.drop_constraint("uq_plan_baselines_measure_department_sector_year", type_="unique")
        batch_op.create_unique_constraint("uq_plan_baselines_measure_sector", ["measure", "sector"])
        batch_op.drop_constraint(batch_op.f("fk_plan_baselines_department_id_departments"), type_="foreignkey")
        batch_op.drop_column("version")
        batch_op.drop_column("note")
        batch_op.drop_column("department_id")
