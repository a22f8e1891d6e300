"""Cases (案件): stages with due days, transfers, handlers; orders name the complaint they answer

Revision ID: e4case0016
Revises: d3sweep0013
Create Date: 2026-12-07 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4case0016'
down_revision = 'e4penalty0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('decision_summary', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_uuid'),
    sa.UniqueConstraint('number')
    )
    op.create_index(op.f('ix_cases_premises_id'), 'cases', ['premises_id'], unique=False)
    op.create_index(op.f('ix_cases_state'), 'cases', ['state'], unique=False)
    # One open (or transferred) case per source.
    op.create_index('uq_cases_open_source', 'cases', ['source_kind', 'source_id'], unique=True,
                    sqlite_where=sa.text("state != 'closed'"),
                    postgresql_where=sa.text("state != 'closed'"))
    op.create_table('case_handlers',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'user_id')
    )
    op.create_index(op.f('ix_case_handlers_user_id'), 'case_handlers', ['user_id'], unique=False)
    op.create_table('case_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('entered_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['completed_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_stages_case_id'), 'case_stages', ['case_id'], unique=False)
    # The overdue list and the sweep read the current stages by due day.
    op.create_index('ix_case_stages_open_due', 'case_stages', ['completed_on', 'due_on'],
                    unique=False)
    op.create_table('case_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('transferred_on', sa.Date(), nullable=False),
    sa.Column('receiving_body', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_transfers_case_id'), 'case_transfers', ['case_id'],
                    unique=False)
    with op.batch_alter_table('rectification_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_rectification_orders_complaint_id'),
                              ['complaint_id'], unique=False)
        batch_op.create_foreign_key('fk_rectification_orders_complaint_id', 'complaints',
                                    ['complaint_id'], ['id'])


def downgrade():
    with op.batch_alter_table('rectification_orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_rectification_orders_complaint_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_rectification_orders_complaint_id'))
        batch_op.drop_column('complaint_id')
    op.drop_index(op.f('ix_case_transfers_case_id'), table_name='case_transfers')
    op.drop_table('case_transfers')
    op.drop_index('ix_case_stages_open_due', table_name='case_stages')
    op.drop_index(op.f('ix_case_stages_case_id'), table_name='case_stages')
    op.drop_table('case_stages')
    op.drop_index(op.f('ix_case_handlers_user_id'), table_name='case_handlers')
    op.drop_table('case_handlers')
    op.drop_index('uq_cases_open_source', table_name='cases')
    op.drop_index(op.f('ix_cases_state'), table_name='cases')
    op.drop_index(op.f('ix_cases_premises_id'), table_name='cases')
    op.drop_table('cases')
