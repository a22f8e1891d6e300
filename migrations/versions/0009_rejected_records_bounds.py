"""Indexes for bounding the refused push records: newest per device, oldest by age

Revision ID: c2push0009
Revises: c2photo0008
Create Date: 2026-11-25 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c2push0009'
down_revision = 'c2photo0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rejected_records', schema=None) as batch_op:
        batch_op.create_index('ix_rejected_records_device_id_id', ['device_id', 'id'], unique=False)
        batch_op.create_index('ix_rejected_records_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('rejected_records', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_records_at')
        batch_op.drop_index('ix_rejected_records_device_id_id')
