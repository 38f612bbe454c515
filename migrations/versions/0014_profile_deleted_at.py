"""import profiles are retired, not deleted: import_profiles.deleted_at

Revision ID: 0014_profile_deleted_at
Revises: 0013_ledger_fields
Create Date: 2026-12-02 09:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_profile_deleted_at"
down_revision = "0013_ledger_fields"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no constraint): SQLite needs no table rebuild.
    op.add_column("import_profiles", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("import_profiles", "deleted_at")
