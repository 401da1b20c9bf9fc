"""Configured business types (新建流程) kept in a web process's memory, never stale: a counter
(reference_stamp 'configured_type') that database triggers move on every insert, update, delete
(and, on PostgreSQL, truncate) of configured_type. Every request reads it with its session's
statement; the process reads the table again only when it moved (it read it on every page that
asked for a business type).

Revision ID: 0026c
Revises: 0026f
"""
from alembic import op


revision = '0026c'
down_revision = '0026f'
branch_labels = None
depends_on = None

# as 0035_reference_stamp: a value the counter never had before, also after a rollback
_BUMP = {
    'postgresql': "UPDATE reference_stamp SET version = nextval('reference_stamp_version')"
                  " WHERE name = 'configured_type'",
    'sqlite': "UPDATE reference_stamp SET version = version + 1 + abs(random() % 1000000000)"
              " WHERE name = 'configured_type'",
}


def upgrade():
    op.execute("INSERT INTO reference_stamp (name, version) VALUES ('configured_type', 1)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""CREATE FUNCTION medreg_configured_type_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_BUMP['postgresql']}; RETURN NULL; END $$""")
        op.execute("""CREATE TRIGGER configured_type_stamp
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON configured_type
            FOR EACH STATEMENT EXECUTE FUNCTION medreg_configured_type_changed()""")
    else:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"""CREATE TRIGGER configured_type_stamp_{event.lower()}
                AFTER {event} ON configured_type BEGIN {_BUMP['sqlite']}; END""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS configured_type_stamp ON configured_type")
        op.execute("DROP FUNCTION IF EXISTS medreg_configured_type_changed()")
    else:
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS configured_type_stamp_{event}")
    op.execute("DELETE FROM reference_stamp WHERE name = 'configured_type'")
