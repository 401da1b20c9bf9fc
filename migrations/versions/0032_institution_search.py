"""拟执业机构 found by part of its name (issue 14, national scale): the application forms no
longer list every institution of the country. On PostgreSQL a pg_trgm GIN index on
institution.name answers ``name ILIKE '%q%'``; the 统一社会信用代码 is looked up exactly.

Revision ID: 0026p
Revises: 0025x
"""
from alembic import op


revision = '0026p'
down_revision = '0025x'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.create_index('ix_institution_name_trgm', ['name'], unique=False,
                              postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_institution_credit_code'), ['credit_code'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_credit_code'))
        batch_op.drop_index('ix_institution_name_trgm')
