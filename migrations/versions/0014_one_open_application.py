"""Exactly once: one open application per physician and type (process_instance.open_key),
one licence per decision (registration.process_instance_id unique)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 17:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

APPLICATION_TYPES = ("registration", "upgrade", "military_in", "to_military", "change", "cancellation",
                     "filing", "filing_cancel", "legacy_cancel", "reissue")


def upgrade():
    conn = op.get_bind()
    twice = conn.execute(sa.text(
        "SELECT process_instance_id FROM registration WHERE process_instance_id IS NOT NULL "
        "GROUP BY process_instance_id HAVING COUNT(*) > 1")).scalars().all()
    if twice:
        raise RuntimeError("these applications issued more than one registration; correct the "
                           f"records before upgrading: {sorted(twice)}")
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_key', sa.String(length=120), nullable=True))
    # the oldest open application of each physician and type holds the key
    rows = conn.execute(sa.text(
        "SELECT id, process_id, subject_user_id FROM process_instance WHERE completed_at IS NULL "
        "AND subject_user_id IS NOT NULL ORDER BY id")).all()
    seen = set()
    for iid, pid, uid in rows:
        key = f"{pid}:{uid}"
        if pid in APPLICATION_TYPES and key not in seen:
            seen.add(key)
            conn.execute(sa.text("UPDATE process_instance SET open_key = :k WHERE id = :i"),
                         {"k": key, "i": iid})
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_process_instance_open_key'), ['open_key'])
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_registration_process_instance_id'),
                                          ['process_instance_id'])


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_registration_process_instance_id'), type_='unique')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_process_instance_open_key'), type_='unique')
        batch_op.drop_column('open_key')
