"""Audit chain keyed with HMAC-SHA256 (MEDREG_AUDIT_KEY): re-key the events already stored

The stored chain is checked first under the old formula; a broken chain stops the migration
(naming the rows), so re-keying never launders a tampered row. Schema unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 10:00:00.000000

"""
import hashlib
import hmac
import json

from alembic import op
import sqlalchemy as sa

from app.models.base import JSONType
from app.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
_events = sa.table(
    "audit_event", sa.column("id", sa.Integer()), sa.column("at", UTCDateTime()),
    sa.column("actor_name", sa.String()), sa.column("action", sa.String()),
    sa.column("object_type", sa.String()), sa.column("object_id", sa.String()),
    sa.column("detail", JSONType), sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()))


def _body(prev, row):
    return json.dumps([prev, row.at.replace(microsecond=0).isoformat(), row.actor_name, row.action,
                       row.object_type, row.object_id, row.detail],
                      ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


def _plain(prev, row):
    return hashlib.sha256(_body(prev, row)).hexdigest()


def _keyed(prev, row):
    from app.services.platform.audit import chain_key  # the key the running application will verify with

    return hmac.new(chain_key(), _body(prev, row), hashlib.sha256).hexdigest()


def _rechain(old, new):
    """Check every event under ``old``, then rewrite the chain under ``new`` (in id order)."""
    conn = op.get_bind()
    bad, last, prev = [], 0, GENESIS
    while True:  # pass 1: the stored chain must be intact under the formula it was written with
        rows = conn.execute(sa.select(_events).where(_events.c.id > last)
                            .order_by(_events.c.id).limit(1000)).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != prev or row.hash != old(row.prev_hash, row):
                bad.append(row.id)
            prev, last = row.hash, row.id
    if bad:
        raise RuntimeError("审计日志已被篡改，不能重新计算哈希链；异常记录："
                           + ", ".join(map(str, bad[:50])) + ("…" if len(bad) > 50 else ""))
    last, prev = 0, GENESIS
    while True:  # pass 2
        rows = conn.execute(sa.select(_events).where(_events.c.id > last)
                            .order_by(_events.c.id).limit(1000)).all()
        if not rows:
            break
        for row in rows:
            digest = new(prev, row)
            conn.execute(_events.update().where(_events.c.id == row.id)
                         .values(prev_hash=prev, hash=digest))
            prev, last = digest, row.id


def upgrade():
    _rechain(_plain, _keyed)


def downgrade():
    _rechain(_keyed, _plain)
