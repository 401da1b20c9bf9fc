"""Records that follow the law: the decision date and reason code of a registration's status
(备案 / 注销 / 吊销 bars of 医师法 第十六条), penalties on record (暂停执业 / 吊销)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_decided_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.String(length=20), nullable=True))
    op.create_table(
        'penalty',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('document_no', sa.String(length=60), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.id']),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('penalty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_penalty_registration_id'), ['registration_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('penalty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_penalty_registration_id'))
    op.drop_table('penalty')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
        batch_op.drop_column('status_decided_on')
