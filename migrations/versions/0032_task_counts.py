"""办理统计 at national scale (issue 14 goal 5): the scheduler keeps the commission's open tasks
counted per authority, type and due day (task_count) with the time it counted them
(stats_snapshot); the page sums that snapshot instead of every open task of the province.
Empty at first: the page counts live until the scheduler's first refresh.

Revision ID: 0026t
Revises: 0025x
"""
from alembic import op
import sqlalchemy as sa


revision = '0026t'
down_revision = '0025x'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('task_count',
    sa.Column('scope_kind', sa.String(length=20), nullable=False),
    sa.Column('scope_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('process_id', sa.String(length=60), nullable=False),
    sa.Column('due_day', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope_kind', 'scope_id', 'process_id', 'due_day',
                            name=op.f('pk_task_count'))
    )
    op.create_table('stats_snapshot',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_snapshot'))
    )


def downgrade():
    op.drop_table('stats_snapshot')
    op.drop_table('task_count')
