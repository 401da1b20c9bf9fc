"""Business types configured in the browser (新建流程): their starter, named refusal rules and
allowed service operations

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 20:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table(
        'configured_type',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=60), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('starter', sa.String(length=20), nullable=False),
        sa.Column('template', sa.String(length=20), nullable=False),
        sa.Column('refusal_rules', json_type, nullable=False),
        sa.Column('operations', json_type, nullable=False),
        sa.Column('created_by', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_configured_type')),
        sa.UniqueConstraint('process_id', name=op.f('uq_configured_type_process_id')),
    )


def downgrade():
    op.drop_table('configured_type')
