"""Scope as path ranges: grid_cells.path compared bytewise (COLLATE "C" on PostgreSQL) and an
index on (map_id, path) that serves `path >= p AND path < p || '~'` on both databases

Revision ID: f5scope0018
Revises: e4link0017
Create Date: 2026-12-07 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f5scope0018'
down_revision = 'e4link0017'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # SQLite's default BINARY collation already compares bytewise.
        op.execute('ALTER TABLE grid_cells ALTER COLUMN path TYPE VARCHAR(255) COLLATE "C"')
    op.create_index('ix_grid_cells_map_id_path', 'grid_cells', ['map_id', 'path'], unique=False)


def downgrade():
    op.drop_index('ix_grid_cells_map_id_path', table_name='grid_cells')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE grid_cells ALTER COLUMN path TYPE VARCHAR(255) COLLATE "default"')
