"""Rectification orders (责令改正) with their moves, and the working-day calendars

Revision ID: d3order0010
Revises: c2push0009
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3order0010'
down_revision = 'c2push0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('working_calendars',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['loaded_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('rectification_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('deadline_source', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('reissue_of_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.ForeignKeyConstraint(['reissue_of_id'], ['rectification_orders.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_uuid'),
    sa.UniqueConstraint('reissue_of_id')
    )
    with op.batch_alter_table('rectification_orders', schema=None) as batch_op:
        for column in ('cell_id', 'deadline', 'inspection_id', 'issued_by_id', 'premises_id',
                       'state'):
            batch_op.create_index(batch_op.f(f'ix_rectification_orders_{column}'), [column],
                                  unique=False)
    op.create_table('rectification_order_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('move', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['rectification_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rectification_order_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_order_moves_order_id'), ['order_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('rectification_order_moves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_order_moves_order_id'))
    op.drop_table('rectification_order_moves')
    with op.batch_alter_table('rectification_orders', schema=None) as batch_op:
        for column in ('state', 'premises_id', 'issued_by_id', 'inspection_id', 'deadline',
                       'cell_id'):
            batch_op.drop_index(batch_op.f(f'ix_rectification_orders_{column}'))
    op.drop_table('rectification_orders')
    op.drop_table('working_calendars')
