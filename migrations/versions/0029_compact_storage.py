"""Bytes per completed instance (issue 14 goal 2): the workflow state and the application's data
are stored zlib-compressed (process_instance.workflow_json: text → binary, a finished state was
zlib + base64 text; process_instance.application: JSON → binary of compact JSON), the
audit chain's hashes as their 32 bytes instead of 64 hex characters, and the audit chain's
unique index on hash is dropped (no query reads by hash; the audit_head row lock is what keeps
the chain from forking); an in-app message (站内消息) no longer repeats its created_at as sent_at

Revision ID: 0025s
Revises: 0024g
Create Date: 2026-11-30 01:00:00

"""
import base64
import json
import zlib

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0025s'
down_revision = '0024g'
branch_labels = None
depends_on = None

PACKED = b"zlib:"  # the older text form of a finished state: zlib, then base64
HASHES = (('audit_event', 'prev_hash'), ('audit_event', 'hash'), ('audit_head', 'hash'))
BATCH = 500
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _postgres():
    return op.get_bind().dialect.name == 'postgresql'


def _raw(value):
    return value.encode('utf-8') if isinstance(value, str) else bytes(value)


def _compressed(value):
    raw = _raw(value)
    if raw.startswith(PACKED):
        return base64.b64decode(raw[len(PACKED):])
    if raw[:1] == b'{':
        return zlib.compress(raw, 6)
    return raw  # compressed already


def _compact_json(value):
    """A JSON value (text, or a dict from the JSON type) compressed as compact JSON text (rows
    written here have no preset dictionary: the column type reads both)."""
    if isinstance(value, (bytes, memoryview)) and bytes(value)[:1] == b'\x78':
        return bytes(value)  # compressed already
    data = json.loads(_raw(value)) if isinstance(value, (str, bytes, memoryview)) else value
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(',', ':')).encode('utf-8'), 6)


def _text(value):
    raw = _raw(value)
    return zlib.decompress(raw).decode('utf-8') if raw[:1] == b'\x78' else raw.decode('utf-8')


def _rewrite(table, column, change):
    """Every row's ``column`` through ``change``, by id in batches (constant memory)."""
    conn = op.get_bind()
    read = sa.text(f"SELECT id, {column} FROM {table} WHERE id > :last ORDER BY id LIMIT {BATCH}")
    write = sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id")
    last = -1
    while True:
        rows = conn.execute(read, {"last": last}).all()
        if not rows:
            return
        conn.execute(write, [{"id": r[0], "value": change(r[1])} for r in rows])
        last = rows[-1][0]


INBOX_SENT_AT = "UPDATE outbox_message SET sent_at = {} WHERE channel = 'inbox'"


def upgrade():
    op.execute(INBOX_SENT_AT.format("NULL"))
    if _postgres():
        op.alter_column('process_instance', 'workflow_json', type_=sa.LargeBinary(),
                        existing_type=sa.Text(), existing_nullable=False,
                        postgresql_using="convert_to(workflow_json, 'UTF8')")
        _rewrite('process_instance', 'workflow_json', _compressed)
        op.alter_column('process_instance', 'application', type_=sa.LargeBinary(), existing_type=JSON,
                        existing_nullable=False, postgresql_using="convert_to(application::text, 'UTF8')")
        _rewrite('process_instance', 'application', _compact_json)
        op.drop_constraint('uq_audit_event_hash', 'audit_event', type_='unique')
        for table, column in HASHES:
            op.alter_column(table, column, type_=sa.LargeBinary(), existing_type=sa.String(length=64),
                            existing_nullable=False, postgresql_using=f"decode({column}, 'hex')")
        return
    # SQLite stores any value in any column: the values first, then the declared types
    _rewrite('process_instance', 'workflow_json', _compressed)
    _rewrite('process_instance', 'application', _compact_json)
    for table, column in HASHES:
        _rewrite(table, column, lambda v: bytes.fromhex(v) if isinstance(v, str) else v)
    with op.batch_alter_table('process_instance') as batch:
        batch.alter_column('workflow_json', type_=sa.LargeBinary(), existing_type=sa.Text(),
                           existing_nullable=False)
        batch.alter_column('application', type_=sa.LargeBinary(), existing_type=JSON,
                           existing_nullable=False)
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_constraint('uq_audit_event_hash', type_='unique')
        for column in ('prev_hash', 'hash'):
            batch.alter_column(column, type_=sa.LargeBinary(), existing_type=sa.String(length=64),
                               existing_nullable=False)
    with op.batch_alter_table('audit_head') as batch:
        batch.alter_column('hash', type_=sa.LargeBinary(), existing_type=sa.String(length=64),
                           existing_nullable=False)


def downgrade():
    op.execute(INBOX_SENT_AT.format("created_at"))
    if _postgres():
        _rewrite('process_instance', 'workflow_json', lambda v: _text(v).encode('utf-8'))
        op.alter_column('process_instance', 'workflow_json', type_=sa.Text(),
                        existing_type=sa.LargeBinary(), existing_nullable=False,
                        postgresql_using="convert_from(workflow_json, 'UTF8')")
        _rewrite('process_instance', 'application', lambda v: _text(v).encode('utf-8'))
        op.alter_column('process_instance', 'application', type_=JSON, existing_type=sa.LargeBinary(),
                        existing_nullable=False, postgresql_using="convert_from(application, 'UTF8')::jsonb")
        for table, column in HASHES:
            op.alter_column(table, column, type_=sa.String(length=64), existing_type=sa.LargeBinary(),
                            existing_nullable=False, postgresql_using=f"encode({column}, 'hex')")
        op.create_unique_constraint('uq_audit_event_hash', 'audit_event', ['hash'])
        return
    _rewrite('process_instance', 'workflow_json', _text)
    _rewrite('process_instance', 'application', _text)
    for table, column in HASHES:
        _rewrite(table, column, lambda v: v if isinstance(v, str) else bytes(v).hex())
    with op.batch_alter_table('process_instance') as batch:
        batch.alter_column('workflow_json', type_=sa.Text(), existing_type=sa.LargeBinary(),
                           existing_nullable=False)
        batch.alter_column('application', type_=JSON, existing_type=sa.LargeBinary(),
                           existing_nullable=False)
    with op.batch_alter_table('audit_event') as batch:
        for column in ('prev_hash', 'hash'):
            batch.alter_column(column, type_=sa.String(length=64), existing_type=sa.LargeBinary(),
                               existing_nullable=False)
        batch.create_unique_constraint('uq_audit_event_hash', ['hash'])
    with op.batch_alter_table('audit_head') as batch:
        batch.alter_column('hash', type_=sa.String(length=64), existing_type=sa.LargeBinary(),
                           existing_nullable=False)
