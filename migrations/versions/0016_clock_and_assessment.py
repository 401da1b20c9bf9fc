"""The statutory clock officers can rely on: receipt and 受理 dates, 延期 (process_instance);
定期考核 results entered by the main institution (assessment.institution_id, one per cycle)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 18:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('accepted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extended', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_assessment_institution_id_institution'),
                                    'institution', ['institution_id'], ['id'])
        batch_op.create_unique_constraint('uq_assessment_qualification_cycle',
                                          ['qualification_id', 'cycle'])


def downgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_assessment_qualification_cycle', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_assessment_institution_id_institution'),
                                 type_='foreignkey')
        batch_op.drop_column('institution_id')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('extended')
        batch_op.drop_column('accepted_on')
        batch_op.drop_column('received_on')
