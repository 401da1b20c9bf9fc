"""Indexes no query uses are dropped (issue 14 goal 2, bytes per completed instance):
outbox_message.recipient_user_id (ix_outbox_message_unread starts with that column and serves
every query on it) and process_instance.institution_id (no query filters instances by
institution; institutions are never deleted). The three inbox indexes of human_task hold open
tasks only (partial indexes WHERE status = 'open': every inbox query asks for open tasks; a
done task leaves them). The evidence is in docs/performance.md.

Revision ID: 0024c
Revises: 0024a
Create Date: 2026-11-29 22:20:00

"""
from alembic import op
import sqlalchemy as sa

OPEN = sa.text("status = 'open'")
SCOPE = {'ix_human_task_scope_due': 'due_at', 'ix_human_task_scope_arrived': 'created_at'}

revision = '0024c'
down_revision = '0024a'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_outbox_message_recipient_user_id', table_name='outbox_message')
    op.drop_index('ix_process_instance_institution_id', table_name='process_instance')
    for name, column in SCOPE.items():
        op.drop_index(name, table_name='human_task')
        op.create_index(name, 'human_task', ['scope_kind', 'scope_id', 'status', column, 'id'],
                        sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index('ix_human_task_scope_claim', table_name='human_task')
    op.create_index('ix_human_task_scope_claim', 'human_task', ['scope_kind', 'scope_id', 'status', 'claimed_by_id'],
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    for name, column in SCOPE.items():
        op.drop_index(name, table_name='human_task')
        op.create_index(name, 'human_task', ['scope_kind', 'scope_id', 'status', column, 'id'])
    op.drop_index('ix_human_task_scope_claim', table_name='human_task')
    op.create_index('ix_human_task_scope_claim', 'human_task', ['scope_kind', 'scope_id', 'status', 'claimed_by_id'])
    op.create_index('ix_process_instance_institution_id', 'process_instance', ['institution_id'])
    op.create_index('ix_outbox_message_recipient_user_id', 'outbox_message', ['recipient_user_id'])
