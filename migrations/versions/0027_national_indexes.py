"""National volume (issue 14): the public register's search by name reads qualification by
name (ix_qualification_name; without it a scan of 5M rows)

Revision ID: 0024f
Revises: 0024d
Create Date: 2026-11-29 22:10:00

"""
from alembic import op

revision = '0024f'
down_revision = '0024d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_qualification_name', 'qualification', ['name'])


def downgrade():
    op.drop_index('ix_qualification_name', table_name='qualification')
