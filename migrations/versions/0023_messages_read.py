"""站内消息: when the person read an in-app message (outbox_message.read_at) and the index of
a person's unread count; in-app messages are delivered by being stored (never left pending)

Revision ID: 0023b
Revises: 0022
Create Date: 2026-11-29 21:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0023b'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_outbox_message_unread', ['recipient_user_id', 'channel', 'read_at'])
    op.execute("UPDATE outbox_message SET status = 'sent', sent_at = created_at "
               "WHERE channel = 'inbox' AND status = 'pending'")


def downgrade():
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_index('ix_outbox_message_unread')
        batch.drop_column('read_at')
