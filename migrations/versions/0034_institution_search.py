"""拟执业机构 found by part of its name (issue 14, national scale): the application forms no
longer list every institution of the country. institution.name gets two indexes: by prefix
(text_pattern_ops) and, on PostgreSQL, a pg_trgm GIN index for ``name ILIKE '%q%'``; the 统一社会信用代码 is looked up exactly.

Revision ID: 0026p
Revises: 0025x
"""
from alembic import op
import sqlalchemy as sa


revision = '0026p'
down_revision = '0026i'
branch_labels = None
depends_on = None


def _trigram_ops():
    """The operator class, named with the schema pg_trgm lives in. A new install puts it in a
    schema of its own ("extensions"), so that dropping an application schema (the tests, the
    benchmarks' schemas side by side) never drops the extension and every index using it;
    pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it."""
    bind = op.get_bind()
    if not bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        op.execute('CREATE SCHEMA IF NOT EXISTS extensions')
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions')
    schema = bind.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"))
    return f'"{schema}".gin_trgm_ops'


def upgrade():
    ops = _trigram_ops() if op.get_bind().dialect.name == 'postgresql' else 'gin_trgm_ops'
    with op.batch_alter_table('institution', schema=None) as batch_op:
        # names starting with the typed text (LIKE 'q%'), whatever the database's collation
        batch_op.create_index('ix_institution_name_prefix', ['name'], unique=False,
                              postgresql_ops={'name': 'text_pattern_ops'})
        # names containing it (a rare part)
        batch_op.create_index('ix_institution_name_trgm', ['name'], unique=False,
                              postgresql_using='gin', postgresql_ops={'name': ops})
        batch_op.create_index(batch_op.f('ix_institution_credit_code'), ['credit_code'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_credit_code'))
        batch_op.drop_index('ix_institution_name_trgm')
        batch_op.drop_index('ix_institution_name_prefix')
