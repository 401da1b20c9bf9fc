"""Reference data kept in a web process's memory, never stale: a counter per table
(reference_stamp: 'catalogue' for catalogue_item, 'configured_type', 'department') that database
triggers move on every insert, update and delete (and, on PostgreSQL, truncate) of that table,
whoever writes (flask seed, an import, 科室维护, an administrator's SQL). A page reads the counter
with a query it sends anyway and reads the data again only when it moved: the catalogue
(执业类别, 执业范围) with a form's qualification, the configured business types (新建流程) with the
session, an institution's 科室 with a task.

Revision ID: 0026f
Revises: 0026p
"""
from alembic import op
import sqlalchemy as sa


revision = '0026f'
down_revision = '0026p'
branch_labels = None
depends_on = None

# the counter's name -> the table whose changes move it
STAMPED = {'catalogue': 'catalogue_item', 'configured_type': 'configured_type', 'department': 'department'}


def _bump(dialect, name):
    """A value the counter never had before, also after a change was rolled back (a process may
    have read the data inside that transaction): a sequence on PostgreSQL (never rolled back), a
    random step on SQLite."""
    if dialect == 'postgresql':
        return f"UPDATE reference_stamp SET version = nextval('reference_stamp_version') WHERE name = '{name}'"
    return f"UPDATE reference_stamp SET version = version + 1 + abs(random() % 1000000000) WHERE name = '{name}'"


def upgrade():
    op.create_table(
        'reference_stamp',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_stamp')),
    )
    dialect = op.get_bind().dialect.name
    # each counter starts at a random value: a database created again at the same address (a
    # staging reset, a test database) does not repeat the values a running process kept data by
    if dialect == 'postgresql':
        op.execute("CREATE SEQUENCE reference_stamp_version START WITH 2")
        op.execute("SELECT setval('reference_stamp_version', 2 + floor(random() * 1e12)::bigint)")
        first = "nextval('reference_stamp_version')"
    else:
        first = "1 + abs(random() % 1000000000000)"
    for name, table in STAMPED.items():
        op.execute(f"INSERT INTO reference_stamp (name, version) VALUES ('{name}', {first})")
        if dialect == 'postgresql':
            op.execute(f"""CREATE FUNCTION medreg_{table}_changed() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN {_bump(dialect, name)}; RETURN NULL; END $$""")
            op.execute(f"""CREATE TRIGGER {table}_stamp
                AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION medreg_{table}_changed()""")
        else:
            for event in ('INSERT', 'UPDATE', 'DELETE'):
                op.execute(f"""CREATE TRIGGER {table}_stamp_{event.lower()}
                    AFTER {event} ON {table} BEGIN {_bump(dialect, name)}; END""")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in STAMPED.values():
        if dialect == 'postgresql':
            op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS medreg_{table}_changed()")
        else:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp_{event}")
    if dialect == 'postgresql':
        op.execute("DROP SEQUENCE IF EXISTS reference_stamp_version")
    op.drop_table('reference_stamp')
