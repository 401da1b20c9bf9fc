"""Coverage exceptions published with a version (flow elements no test case reaches, each with
the administrator's reason); a case run may test one case only (运行此用例)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 19:50:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    with op.batch_alter_table('process_definition') as batch:
        batch.add_column(sa.Column('coverage_exceptions', json_type, nullable=True))
    with op.batch_alter_table('case_run') as batch:
        batch.add_column(sa.Column('case_key', sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table('case_run') as batch:
        batch.drop_column('case_key')
    with op.batch_alter_table('process_definition') as batch:
        batch.drop_column('coverage_exceptions')
