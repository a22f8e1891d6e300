"""Assignments record when they were ended (ended_at): ending takes effect at once

Revision ID: c2rule0007
Revises: b1websec0006
Create Date: 2026-12-06 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2rule0007'
down_revision = 'b1websec0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cell_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('cell_assignments', schema=None) as batch_op:
        batch_op.drop_column('ended_at')
