"""Documents (文书): numbered per office, year and prefix, with a verification token

Revision ID: d3docs0012
Revises: d3compl0011
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd3docs0012'
down_revision = 'd3compl0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_counters',
    sa.Column('office_code', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('office_code', 'year', 'prefix')
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('office_code', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verification_token', sa.String(length=64), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'subject_id'),
    sa.UniqueConstraint('office_code', 'year', 'prefix', 'serial'),
    sa.UniqueConstraint('verification_token')
    )
    op.create_index(op.f('ix_documents_premises_id'), 'documents', ['premises_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_documents_premises_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('document_counters')
