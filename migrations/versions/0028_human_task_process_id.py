"""办理统计 at national scale (issue 14): human_task keeps its instance's process_id, and the
inbox index ix_human_task_scope_due carries it last, so the commission's counts by type read
that index alone instead of every open task plus its instance (the keyset order is unchanged)

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

OPEN = sa.text("status = 'open'")
DUE = ['scope_kind', 'scope_id', 'status', 'due_at', 'id']


def upgrade():
    op.add_column('human_task', sa.Column('process_id', sa.String(length=60), nullable=True))
    # a correlated subquery: the same statement on SQLite and PostgreSQL
    op.execute("UPDATE human_task SET process_id = (SELECT process_instance.process_id "
               "FROM process_instance WHERE process_instance.id = human_task.instance_id)")
    op.drop_index('ix_human_task_scope_due', table_name='human_task')
    with op.batch_alter_table('human_task') as batch:
        batch.alter_column('process_id', existing_type=sa.String(length=60), nullable=False)
    op.create_index('ix_human_task_scope_due', 'human_task', DUE + ['process_id'],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    _recreate_claim()


def downgrade():
    op.drop_index('ix_human_task_scope_due', table_name='human_task')
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('process_id')
    op.create_index('ix_human_task_scope_due', 'human_task', DUE, sqlite_where=OPEN, postgresql_where=OPEN)
    _recreate_claim()


def _recreate_claim():
    """The claim index made again after scope_due (small: open tasks only). On a table too small
    to tell them apart (the index audit bench/indexes.py) PostgreSQL breaks the cost tie for the
    header count by index order, so the newest scope_due would otherwise win it; with data the
    claim index wins on its claimed_by_id anyway."""
    op.drop_index('ix_human_task_scope_claim', table_name='human_task')
    op.create_index('ix_human_task_scope_claim', 'human_task',
                    ['scope_kind', 'scope_id', 'status', 'claimed_by_id'],
                    sqlite_where=OPEN, postgresql_where=OPEN)
