"""Complaints and reports (投诉举报): categories, complaints, complainants' personal data

Revision ID: d3compl0011
Revises: d3order0010
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

# The complaint categories shipped with the product; offices may add rows of their own.
CATEGORIES = [
    ("illegal_practice", "非法行医", "Illegal medical practice"),
    ("public_place_hygiene", "公共场所卫生", "Public place hygiene"),
    ("drinking_water", "生活饮用水", "Drinking water"),
    ("school_hygiene", "学校卫生", "School hygiene"),
    ("medical_service_quality", "医疗服务质量", "Medical service quality"),
    ("infectious_disease", "传染病防治", "Infectious disease control"),
    ("other", "其他", "Other"),
]

# revision identifiers, used by Alembic.
revision = 'd3compl0011'
down_revision = 'd3order0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaint_categories',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label_zh', sa.String(length=64), nullable=False),
    sa.Column('label_en', sa.String(length=64), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_geospatial_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=True), nullable=True),
    sa.Column('premises_id', sa.Integer(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('routed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verification_result', sa.Text(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('feedback_due', sa.Date(), nullable=True),
    sa.Column('feedback_text', sa.Text(), nullable=True),
    sa.Column('feedback_by_id', sa.Integer(), nullable=True),
    sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_code'], ['complaint_categories.code'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.ForeignKeyConstraint(['cell_id'], ['grid_cells.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['feedback_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_premises_id'), ['premises_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_cell_id'), ['cell_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_feedback_due'), ['feedback_due'], unique=False)

    op.create_table('complainants',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], ),
    sa.PrimaryKeyConstraint('complaint_id')
    )
    categories = sa.table("complaint_categories", sa.column("code", sa.String),
                          sa.column("label_zh", sa.String), sa.column("label_en", sa.String),
                          sa.column("sort_order", sa.Integer), sa.column("active", sa.Boolean))
    op.bulk_insert(categories, [
        {"code": code, "label_zh": zh, "label_en": en, "sort_order": n, "active": True}
        for n, (code, zh, en) in enumerate(CATEGORIES, start=1)
    ])


def downgrade():
    op.drop_table('complainants')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_feedback_due'))
        batch_op.drop_index(batch_op.f('ix_complaints_status'))
        batch_op.drop_index(batch_op.f('ix_complaints_cell_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_premises_id'))

    op.drop_geospatial_table('complaints')
    op.drop_table('complaint_categories')
