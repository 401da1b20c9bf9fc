"""An identity is owned at activation (one activated account per ID number, enforced by a
partial unique index); per-identity try counters; the roster's phone for activation codes

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 16:23:00.716942

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attempt_counter',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_attempt_counter'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_mobile', sa.String(length=11), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_id_number'), type_='unique')
        batch_op.create_index(batch_op.f('ix_user_account_id_number'), ['id_number'], unique=False)
        batch_op.create_index('uq_user_account_id_number_activated', ['id_number'], unique=True, sqlite_where=sa.text('activated'), postgresql_where=sa.text('activated'))



def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('uq_user_account_id_number_activated', sqlite_where=sa.text('activated'), postgresql_where=sa.text('activated'))
        batch_op.drop_index(batch_op.f('ix_user_account_id_number'))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_id_number'), ['id_number'])

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('roster_mobile')

    op.drop_table('attempt_counter')
