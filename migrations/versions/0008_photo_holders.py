"""Photo holders: who sent a photo's bytes (proof of possession); the first uploaders hold theirs

Revision ID: c2photo0008
Revises: c2rule0007
Create Date: 2026-11-25 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2photo0008'
down_revision = 'c2rule0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_holders',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('first_sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['sha256'], ['photos.sha256'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('sha256', 'user_id')
    )
    with op.batch_alter_table('photo_holders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_holders_user_id'), ['user_id'], unique=False)
    # Whoever uploaded a photo sent its bytes: they hold it.
    op.execute("INSERT INTO photo_holders (sha256, user_id, first_sent_at) "
               "SELECT sha256, uploaded_by_id, uploaded_at FROM photos "
               "WHERE uploaded_by_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('photo_holders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_holders_user_id'))

    op.drop_table('photo_holders')
