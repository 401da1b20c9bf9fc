"""The 验证码 lives in the session (issue 14, failed sign-in): the session keeps one live
answer — its HMAC with an expiry — replaced by each new image and removed when checked, so
the captcha_challenge table (a row per image fetched, by anyone, without a bound) goes.
attempt_counter rows are swept once no window needs them (anyone can open one by typing a
new ID number), so its window_start gets an index.

Revision ID: 0025x
Revises: 0025n
"""
from alembic import op
import sqlalchemy as sa


revision = '0025x'
down_revision = '0025n'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('captcha_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captcha_challenge_created_at'))
    op.drop_table('captcha_challenge')
    with op.batch_alter_table('attempt_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_counter_window_start'), ['window_start'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('attempt_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_counter_window_start'))
    op.create_table('captcha_challenge',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_captcha_challenge'))
    )
    with op.batch_alter_table('captcha_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captcha_challenge_created_at'), ['created_at'], unique=False)
