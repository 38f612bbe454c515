"""notice items keep every finding and the rule's passed fixed date

Revision ID: 0010_notice_findings
Revises: 0009_import_profiles
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_notice_findings"
down_revision = "0009_import_profiles"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_column("findings")
        batch_op.drop_column("rule_deadline")
