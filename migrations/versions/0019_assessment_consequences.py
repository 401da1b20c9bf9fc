"""定期考核 consequences: a 暂停执业 that follows from a failed assessment records which
assessment it came from (penalty.assessment_id)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 19:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('penalty', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assessment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_penalty_assessment_id_assessment'),
                                    'assessment', ['assessment_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_penalty_assessment_id'), ['assessment_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('penalty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_penalty_assessment_id'))
        batch_op.drop_constraint(batch_op.f('fk_penalty_assessment_id_assessment'),
                                 type_='foreignkey')
        batch_op.drop_column('assessment_id')
