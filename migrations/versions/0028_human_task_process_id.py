"""办理统计 at national scale (issue 14): human_task keeps its instance's process_id, so the
commission's counts by type read one index (ix_human_task_scope_process) instead of every open
task plus its instance

Revision ID: 0024g
Revises: 0024f
Create Date: 2026-11-29 22:50:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0024g'
down_revision = '0024f'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('human_task', sa.Column('process_id', sa.String(length=60), nullable=True))
    # a correlated subquery: the same statement on SQLite and PostgreSQL
    op.execute("UPDATE human_task SET process_id = (SELECT process_instance.process_id "
               "FROM process_instance WHERE process_instance.id = human_task.instance_id)")
    with op.batch_alter_table('human_task') as batch:
        batch.alter_column('process_id', existing_type=sa.String(length=60), nullable=False)
    op.create_index('ix_human_task_scope_process', 'human_task',
                    ['scope_kind', 'scope_id', 'status', 'process_id', 'due_at'],
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))


def downgrade():
    op.drop_index('ix_human_task_scope_process', table_name='human_task')
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('process_id')
