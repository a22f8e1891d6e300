"""Change feed numbered at commit (its head row), and the record of feed prunings

Revision ID: 7c41d2e9b803
Revises: 212519b66079
Create Date: 2026-11-22 17:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c41d2e9b803'
down_revision = '212519b66079'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('change_feed_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('feed_prunes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pruned_through_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('events_deleted', sa.Integer(), nullable=False),
    sa.Column('older_than', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    # Go on from the events already numbered.
    op.execute("INSERT INTO change_feed_head (id, last_seq) "
               "SELECT 1, COALESCE(MAX(seq), 0) FROM change_events")


def downgrade():
    op.drop_table('feed_prunes')
    op.drop_table('change_feed_head')
