"""用户名 stored lower case (issue 14 goal 5): "is this user name taken?" (个人用户注册, staff
accounts) and sign-in compare the canonical name, so they are lookups in the unique index
uq_user_account_username instead of a scan of lower(username) over every account. Sign-in by
手机号码 or 资格证书编码 gets its indexes too (ix_user_account_mobile,
ix_user_account_qualification_id): each way of signing in is an index lookup among millions
of accounts, not a scan of them.

The rows stored before are lower-cased. Two accounts whose names differ only in case cannot
both keep their name: the upgrade then stops, naming them, and changes nothing (an
administrator renames one first); it never merges accounts.

Revision ID: 0025n
Revises: 0024g
Create Date: 2026-11-30 01:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0025n'
down_revision = '0025s'
branch_labels = None
depends_on = None


class UsernameClash(RuntimeError):
    """Two or more accounts whose user names differ only in case."""


def upgrade():
    _lower_case_names()
    _create_indexes()


def _create_indexes():
    op.create_index('ix_user_account_mobile', 'user_account', ['mobile'])
    op.create_index('ix_user_account_qualification_id', 'user_account', ['qualification_id'])


def _lower_case_names():
    bind = op.get_bind()
    clashes = bind.execute(sa.text(
        "SELECT lower(username) AS name, count(*) AS n FROM user_account "
        "GROUP BY lower(username) HAVING count(*) > 1 ORDER BY lower(username)")).all()
    if clashes:
        names = bind.execute(sa.text(
            "SELECT id, username FROM user_account WHERE lower(username) IN :names ORDER BY lower(username), id"
        ).bindparams(sa.bindparam("names", expanding=True)), {"names": [c.name for c in clashes]}).all()
        listed = "; ".join(f"{row.username} (id {row.id})" for row in names)
        raise UsernameClash(
            f"migration 0029: {len(clashes)} user name(s) are used by several accounts that differ only "
            f"in case: {listed}. User names become unique whatever their case; rename all but one "
            "account of each name (as 系统管理员), then run the upgrade again. Nothing was changed.")
    op.execute("UPDATE user_account SET username = lower(username) WHERE username <> lower(username)")


def downgrade():
    """The indexes go; the names stay lower case (the original case is not kept, and lower-case
    names are valid names for the previous release too)."""
    op.drop_index('ix_user_account_qualification_id', table_name='user_account')
    op.drop_index('ix_user_account_mobile', table_name='user_account')
