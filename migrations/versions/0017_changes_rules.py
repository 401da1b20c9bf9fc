"""变更中 (办法 第二十二条; R-32): registrations with a 变更 open when this is deployed become
变更中, as new submissions do; filings of registrations that already ended (变更出) close (R-47)

Data only, no schema change.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OPEN_CHANGE = ("SELECT registration_id FROM process_instance WHERE process_id = 'change' "
               "AND completed_at IS NULL AND registration_id IS NOT NULL")


def upgrade():
    conn = op.get_bind()
    conn.execute(sa.text(
        f"UPDATE registration SET status = 'PENDING_CHANGE' "
        f"WHERE status = 'ACTIVE' AND id IN ({OPEN_CHANGE})"))
    conn.execute(sa.text(
        "UPDATE multi_filing SET status = 'CANCELLED' WHERE status = 'ACTIVE' AND registration_id "
        "IN (SELECT id FROM registration WHERE status IN ('CHANGED_OUT', 'CANCELLED', 'REVOKED'))"))


def downgrade():
    conn = op.get_bind()
    conn.execute(sa.text(
        f"UPDATE registration SET status = 'ACTIVE' "
        f"WHERE status = 'PENDING_CHANGE' AND id IN ({OPEN_CHANGE})"))
