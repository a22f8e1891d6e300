"""Rechecks: an inspection names the order it rechecks; order moves' photos are indexed by hash

Revision ID: e4recheck0014
Revises: d3sweep0013
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4recheck0014'
down_revision = 'd3sweep0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recheck_of_order_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_inspections_recheck_of_order_id'),
                              ['recheck_of_order_id'], unique=False)
        batch_op.create_foreign_key('fk_inspections_recheck_of_order_id', 'rectification_orders',
                                    ['recheck_of_order_id'], ['id'])
    op.create_table('order_move_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('move_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['move_id'], ['rectification_order_moves.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('move_id', 'sha256')
    )
    with op.batch_alter_table('order_move_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_move_photos_sha256'), ['sha256'], unique=False)
    # The photos of moves made before this revision become readable by the order's scope too.
    moves = sa.table('rectification_order_moves', sa.column('id', sa.Integer),
                     sa.column('photos', sa.JSON))
    links = sa.table('order_move_photos', sa.column('move_id', sa.Integer),
                     sa.column('sha256', sa.String))
    bind = op.get_bind()
    rows = [{"move_id": move_id, "sha256": sha256}
            for move_id, photos in bind.execute(sa.select(moves.c.id, moves.c.photos))
            for sha256 in dict.fromkeys(photos or [])]
    if rows:
        op.bulk_insert(links, rows)


def downgrade():
    with op.batch_alter_table('order_move_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_move_photos_sha256'))
    op.drop_table('order_move_photos')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_constraint('fk_inspections_recheck_of_order_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_inspections_recheck_of_order_id'))
        batch_op.drop_column('recheck_of_order_id')
