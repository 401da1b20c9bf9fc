"""/healthz: scheduler_beat, one row holding when the newest timer sweep finished

Revision ID: 0024a
Revises: 0023b
Create Date: 2026-11-29 22:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0024a'
down_revision = '0023b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduler_beat',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('swept_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('scheduler_beat')
