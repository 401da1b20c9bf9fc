"""数据导入 at national volume (issue 14 goal 5): an import job keeps where its next row starts
in the file and the lines before it, so each batch reads and parses its own rows instead of
the whole file (a 100,000-row file was loaded 100 times and parsed 2.5 million rows over its
50 batches). Jobs stored before keep 0 and are resumed by counting their processed rows.

Revision ID: 0026i
Revises: 0025x
"""
from alembic import op
import sqlalchemy as sa


revision = '0026i'
down_revision = '0026t'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('line', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('line')
        batch_op.drop_column('position')
