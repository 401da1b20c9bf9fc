"""An institution's departments (科室) kept in a web process's memory, never stale: a counter
(reference_stamp 'department') that database triggers move on every insert, update, delete
(and, on PostgreSQL, truncate) of department (科室维护, imports, plain SQL). The task page reads it
with its task and reads an institution's departments again only when it moved (it read them on
every view, to name the application's 科室).

Revision ID: 0026d
Revises: 0026c
"""
from alembic import op


revision = '0026d'
down_revision = '0026c'
branch_labels = None
depends_on = None

# as 0035_reference_stamp: a value the counter never had before, also after a rollback
_BUMP = {
    'postgresql': "UPDATE reference_stamp SET version = nextval('reference_stamp_version')"
                  " WHERE name = 'department'",
    'sqlite': "UPDATE reference_stamp SET version = version + 1 + abs(random() % 1000000000)"
              " WHERE name = 'department'",
}


def upgrade():
    op.execute("INSERT INTO reference_stamp (name, version) VALUES ('department', 1)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""CREATE FUNCTION medreg_department_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_BUMP['postgresql']}; RETURN NULL; END $$""")
        op.execute("""CREATE TRIGGER department_stamp
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON department
            FOR EACH STATEMENT EXECUTE FUNCTION medreg_department_changed()""")
    else:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"""CREATE TRIGGER department_stamp_{event.lower()}
                AFTER {event} ON department BEGIN {_BUMP['sqlite']}; END""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS department_stamp ON department")
        op.execute("DROP FUNCTION IF EXISTS medreg_department_changed()")
    else:
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS department_stamp_{event}")
    op.execute("DELETE FROM reference_stamp WHERE name = 'department'")
