"""disposal and replacement records, 2023 baselines; notices may be completed by those records

Revision ID: 0012_disposals
Revises: 0011_notice_drafts
Create Date: 2026-12-01 22:40:43.402050

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_disposals"
down_revision = "0011_notice_drafts"
branch_labels = None
depends_on = None


COMPLETION_KINDS = ("scrap_certificate", "deregistration", "replacement")


def _completion_kinds(kinds) -> None:
    """Rebuild the notices.completion_kind CHECK with `kinds` (SQLite rebuilds the table: foreign keys off)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notices_completionkind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notices_completionkind"),
                                         "completion_kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    _completion_kinds(COMPLETION_KINDS + ("records",))
    op.create_table('disposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('way', sa.Enum('scrap_dismantle', 'transfer', 'reallocation', 'remanufacture', name='disposalway', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('disposed_on', sa.Date(), nullable=False),
    sa.Column('receiver', sa.String(length=120), nullable=False),
    sa.Column('recycling_certificate_no', sa.String(length=64), nullable=True),
    sa.Column('deregistration_no', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_disposals_asset_id_assets')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_disposals_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposals')),
    sa.UniqueConstraint('asset_id', name=op.f('uq_disposals_asset_id')),
    sa.UniqueConstraint('deregistration_no', name=op.f('uq_disposals_deregistration_no')),
    sa.UniqueConstraint('recycling_certificate_no', name=op.f('uq_disposals_recycling_certificate_no'))
    )
    with op.batch_alter_table('disposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposals_disposed_on'), ['disposed_on'], unique=False)

    op.create_table('plan_baselines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=32), nullable=False),
    sa.Column('sector', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('value >= 0', name=op.f('ck_plan_baselines_value_nonnegative')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_plan_baselines_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_baselines')),
    sa.UniqueConstraint('measure', 'sector', name='uq_plan_baselines_measure_sector')
    )
    op.create_table('replacements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('new_asset_id', sa.Integer(), nullable=False),
    sa.Column('replaced_on', sa.Date(), nullable=False),
    sa.Column('investment_yuan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('funding_source', sa.Enum('central_budget', 'special_bonds', 'local_fiscal', 'self_raised', 'loan', 'other', name='fundingsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('efficiency_level', sa.Enum('advanced', 'saving', 'entry', name='efficiencylevel', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('emission_standard', sa.String(length=32), nullable=True),
    sa.Column('new_energy', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('investment_yuan >= 0 AND investment_yuan <= 1000000000', name=op.f('ck_replacements_investment_range')),
    sa.ForeignKeyConstraint(['new_asset_id'], ['assets.id'], name=op.f('fk_replacements_new_asset_id_assets')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_replacements_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replacements')),
    sa.UniqueConstraint('new_asset_id', name=op.f('uq_replacements_new_asset_id'))
    )
    with op.batch_alter_table('replacements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacements_replaced_on'), ['replaced_on'], unique=False)

    op.create_table('disposal_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('disposal_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('original_name', sa.String(length=120), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['disposal_id'], ['disposals.id'], name=op.f('fk_disposal_documents_disposal_id_disposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_documents'))
    )
    with op.batch_alter_table('disposal_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_documents_disposal_id'), ['disposal_id'], unique=False)

    op.create_table('replacement_links',
    sa.Column('replacement_id', sa.Integer(), nullable=False),
    sa.Column('old_asset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['old_asset_id'], ['assets.id'], name=op.f('fk_replacement_links_old_asset_id_assets')),
    sa.ForeignKeyConstraint(['replacement_id'], ['replacements.id'], name=op.f('fk_replacement_links_replacement_id_replacements')),
    sa.PrimaryKeyConstraint('replacement_id', 'old_asset_id', name=op.f('pk_replacement_links')),
    sa.UniqueConstraint('old_asset_id', name=op.f('uq_replacement_links_old_asset_id'))
    )


def downgrade():
    _completion_kinds(COMPLETION_KINDS)  # fails while a notice is completed by records
    op.drop_table('replacement_links')
    with op.batch_alter_table('disposal_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_documents_disposal_id'))

    op.drop_table('disposal_documents')
    with op.batch_alter_table('replacements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacements_replaced_on'))

    op.drop_table('replacements')
    op.drop_table('plan_baselines')
    with op.batch_alter_table('disposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposals_disposed_on'))

    op.drop_table('disposals')
