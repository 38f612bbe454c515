"""address_throttles: per-address counters for login attempts, token failures and anonymous audit records

Revision ID: 0015_address_throttles
Revises: 0014_profile_deleted_at
Create Date: 2026-12-01 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_address_throttles"
down_revision = "0014_profile_deleted_at"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('address_throttles',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'address', 'window_start', name=op.f('pk_address_throttles'))
    )
    with op.batch_alter_table('address_throttles', schema=None) as batch_op:
        batch_op.create_index('ix_address_throttles_window_start', ['window_start'], unique=False)


def downgrade():
    with op.batch_alter_table('address_throttles', schema=None) as batch_op:
        batch_op.drop_index('ix_address_throttles_window_start')
    op.drop_table('address_throttles')
