"""Penalties (行政处罚) with their recheck and publication; bad-practice points; premises measures

Revision ID: e4penalty0015
Revises: d3sweep0013
Create Date: 2026-12-07 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4penalty0015'
down_revision = 'e4recheck0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('penalties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('decision_number', sa.String(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('recheck_task_id', sa.Integer(), nullable=True),
    sa.Column('recheck_due', sa.Date(), nullable=False),
    sa.Column('recheck_inspection_id', sa.Integer(), nullable=True),
    sa.Column('publication_due', sa.Date(), nullable=False),
    sa.Column('publication_state', sa.String(length=16), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('published_where', sa.Text(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['recheck_inspection_id'], ['inspections.id'], ),
    sa.ForeignKeyConstraint(['recheck_task_id'], ['tasks.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_uuid'),
    sa.UniqueConstraint('decision_number')
    )
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_penalties_premises_id'), ['premises_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_penalties_recheck_task_id'), ['recheck_task_id'],
                              unique=False)
    # The overdue list and the sweep read pending publications by due date.
    op.create_index('ix_penalties_publication_open', 'penalties',
                    ['publication_state', 'publication_due'], unique=False)

    op.create_table('practice_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('accrued_on', sa.Date(), nullable=False),
    sa.Column('cycle_start', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_kind', 'source_id', name='uq_practice_points_source')
    )
    with op.batch_alter_table('practice_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_points_premises_id'), ['premises_id'],
                              unique=False)

    op.create_table('premises_measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('period', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('premises_id', 'kind', 'period', name='uq_premises_measures_once')
    )
    with op.batch_alter_table('premises_measures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premises_measures_premises_id'), ['premises_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_premises_measures_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('premises_measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premises_measures_state'))
        batch_op.drop_index(batch_op.f('ix_premises_measures_premises_id'))
    op.drop_table('premises_measures')
    with op.batch_alter_table('practice_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_points_premises_id'))
    op.drop_table('practice_points')
    op.drop_index('ix_penalties_publication_open', table_name='penalties')
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_penalties_recheck_task_id'))
        batch_op.drop_index(batch_op.f('ix_penalties_premises_id'))
    op.drop_table('penalties')
