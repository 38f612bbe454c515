"""car age index: (category, coalesce(registered_on, commissioned_on), id) on assets

Revision ID: 0021_car_age_start_index
Revises: 0020_search_punctuation
Create Date: 2026-12-02 22:10:00

A car's age counts from its registration (commissioning when unregistered), so the list's age and
year filters on 公务用车 test `coalesce(registered_on, commissioned_on)`, which
ix_assets_category_commissioned_id cannot serve. With this index a sparse age or year filter on
cars collects its few matches instead of reading every car (registry.assets.queries.WALK_BUDGET).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0021_car_age_start_index"
down_revision = "0020_search_punctuation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_assets_category_age_start_id", "assets",
                    ["category", sa.text("coalesce(registered_on, commissioned_on)"), "id"])


def downgrade():
    op.drop_index("ix_assets_category_age_start_id", table_name="assets")
