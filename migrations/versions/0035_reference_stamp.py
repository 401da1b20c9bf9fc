"""The catalogue (执业类别, 执业范围 ...) kept in a web process's memory, never stale: a counter
(reference_stamp 'catalogue') that database triggers move on every insert, update and delete of
catalogue_item, whoever writes (flask seed, an import, an administrator's SQL). A form page reads
the counter with a query it sends anyway and reads the catalogue again only when it moved.

Revision ID: 0026f
Revises: 0026p
"""
from alembic import op
import sqlalchemy as sa


revision = '0026f'
down_revision = '0026p'
branch_labels = None
depends_on = None

# a value the counter never had before, also after a change was rolled back (a process may
# have read the catalogue inside that transaction): a sequence on PostgreSQL (never rolled
# back), a random step on SQLite
_BUMP = {
    'postgresql': "UPDATE reference_stamp SET version = nextval('reference_stamp_version')"
                  " WHERE name = 'catalogue'",
    'sqlite': "UPDATE reference_stamp SET version = version + 1 + abs(random() % 1000000000)"
              " WHERE name = 'catalogue'",
}


def upgrade():
    op.create_table(
        'reference_stamp',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_stamp')),
    )
    op.execute("INSERT INTO reference_stamp (name, version) VALUES ('catalogue', 1)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE reference_stamp_version START WITH 2")
        op.execute(f"""CREATE FUNCTION medreg_catalogue_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN {_BUMP['postgresql']}; RETURN NULL; END $$""")
        op.execute("""CREATE TRIGGER catalogue_item_stamp
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON catalogue_item
            FOR EACH STATEMENT EXECUTE FUNCTION medreg_catalogue_changed()""")
    else:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"""CREATE TRIGGER catalogue_item_stamp_{event.lower()}
                AFTER {event} ON catalogue_item BEGIN {_BUMP['sqlite']}; END""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS catalogue_item_stamp ON catalogue_item")
        op.execute("DROP FUNCTION IF EXISTS medreg_catalogue_changed()")
        op.execute("DROP SEQUENCE IF EXISTS reference_stamp_version")
    else:
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS catalogue_item_stamp_{event}")
    op.drop_table('reference_stamp')
