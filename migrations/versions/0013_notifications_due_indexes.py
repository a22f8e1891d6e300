"""Notifications (reminders, escalations) raised once by the sweep; open items indexed by due date

Revision ID: d3sweep0013
Revises: d3docs0012
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3sweep0013'
down_revision = 'd3docs0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('premises_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'subject_kind', 'subject_id', 'kind', 'level',
                        name='uq_notifications_once')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)
    # The sweep and the overdue list read each kind's open items by due date: open-ness
    # first, then a range of dates, so closed history behind them is never read.
    op.create_index('ix_rectification_orders_state_deadline', 'rectification_orders',
                    ['state', 'deadline'], unique=False)
    op.create_index('ix_tasks_status_due_date', 'tasks', ['status', 'due_date'], unique=False)
    op.create_index('ix_complaints_feedback_open', 'complaints', ['feedback_at', 'feedback_due'],
                    unique=False)


def downgrade():
    op.drop_index('ix_complaints_feedback_open', table_name='complaints')
    op.drop_index('ix_tasks_status_due_date', table_name='tasks')
    op.drop_index('ix_rectification_orders_state_deadline', table_name='rectification_orders')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
    op.drop_table('notifications')
