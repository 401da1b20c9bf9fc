"""Runs of the process test cases as background jobs (one per draft at a time); the draft's
scenarios_passed_sha gives way to the run's content_sha; cases edited in the editor kept
with the draft and the version

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 19:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=60), nullable=False),
        sa.Column('content_sha', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('results', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                    'postgresql'), nullable=True),
        sa.Column('message', sa.String(length=200), nullable=True),
        sa.Column('active_key', sa.String(length=60), nullable=True),
        sa.Column('started_by', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_run')),
        sa.UniqueConstraint('active_key', name=op.f('uq_case_run_active_key')),
    )
    op.create_index(op.f('ix_case_run_process_id'), 'case_run', ['process_id'], unique=False)
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    with op.batch_alter_table('process_draft') as batch:
        batch.drop_column('scenarios_passed_sha')
        batch.add_column(sa.Column('cases', json_type, nullable=True))
    with op.batch_alter_table('process_definition') as batch:
        batch.add_column(sa.Column('cases', json_type, nullable=True))


def downgrade():
    with op.batch_alter_table('process_definition') as batch:
        batch.drop_column('cases')
    with op.batch_alter_table('process_draft') as batch:
        batch.drop_column('cases')
        batch.add_column(sa.Column('scenarios_passed_sha', sa.String(length=64), nullable=True))
    op.drop_index(op.f('ix_case_run_process_id'), table_name='case_run')
    op.drop_table('case_run')
