"""A map lists its own levels (grid_maps.levels), so it may have a city or province root

Revision ID: f5root0019
Revises: f5scope0018
Create Date: 2026-12-08 10:00:00

Existing maps get the three levels they were built with: district → street → community.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f5root0019'
down_revision = 'f5scope0018'
branch_labels = None
depends_on = None

DEFAULT_LEVELS = [
    {"code": "district", "zh": "区/县", "en": "District"},
    {"code": "street", "zh": "街道/镇", "en": "Street / town"},
    {"code": "community", "zh": "社区/村", "en": "Community / village"},
]


def upgrade():
    with op.batch_alter_table('grid_maps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('levels', sa.JSON(), nullable=True))
    grid_maps = sa.table('grid_maps', sa.column('levels', sa.JSON()))
    op.execute(grid_maps.update().values(levels=DEFAULT_LEVELS))
    with op.batch_alter_table('grid_maps', schema=None) as batch_op:
        batch_op.alter_column('levels', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('grid_maps', schema=None) as batch_op:
        batch_op.drop_column('levels')
