"""Penalties name the case (案件) they end: a foreign key and an index on penalties.case_id

Revision ID: e4link0017
Revises: e4case0016
Create Date: 2026-12-06 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4link0017'
down_revision = 'e4case0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_penalties_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key('fk_penalties_case_id', 'cases', ['case_id'], ['id'])


def downgrade():
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_constraint('fk_penalties_case_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_penalties_case_id'))
