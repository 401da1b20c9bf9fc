"""Idempotency tokens: one row per submitted form (token unique) with the first result

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'submission_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('result_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_submission_token_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_token')),
        sa.UniqueConstraint('token', name=op.f('uq_submission_token_token')),
    )
    op.create_index(op.f('ix_submission_token_created_at'), 'submission_token', ['created_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_submission_token_created_at'), table_name='submission_token')
    op.drop_table('submission_token')
