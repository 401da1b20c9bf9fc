"""The statutory clock officers can rely on: receipt and 受理 dates, 延期 (process_instance)

Revision ID: 0017
Revises: 0014
Create Date: 2026-11-29 18:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('accepted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extended', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('extended')
        batch_op.drop_column('accepted_on')
        batch_op.drop_column('received_on')
