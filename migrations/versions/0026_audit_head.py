"""The audit chain's head in one row (audit_head): an appender locks and reads it in one
statement (UPDATE … RETURNING), then writes the event and the new head (one statement on
PostgreSQL) — two round trips instead of three (advisory lock, head read, insert)

Revision ID: 0024d
Revises: 0024c
Create Date: 2026-11-29 22:05:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0024d'
down_revision = '0024c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO audit_head (id, hash) SELECT 1, COALESCE("
               "(SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1), '" + "0" * 64 + "')")


def downgrade():
    op.drop_table('audit_head')
