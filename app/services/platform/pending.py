"""The session's pending changes as writable CTEs: one statement instead of one per row.

SQLAlchemy's unit of work sends one statement per table and operation, so an engine step's
read-model writes (UPDATE instance, UPDATE task, INSERT the next task) are three round trips.
On PostgreSQL they can travel as CTEs of another statement the step sends anyway (the audit
head's lock, :func:`app.services.platform.audit.record`); on SQLite (no writable CTEs, no
network) they are plain Core statements, without the unit of work's bookkeeping, which is most
of a flush's cost there. :func:`take` turns the pending changes into statements;
:meth:`Batch.applied` then marks the ORM objects as written (new rows get their ids and become
persistent), so later code in the same call reads the truth and the commit writes nothing
again. Only simple changes travel this way: column values of rows of the named classes, no
deletes, no relationship changes; otherwise :func:`take` returns None and the caller lets the
unit of work flush as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Insert
from sqlalchemy import Table
from sqlalchemy import Update
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import InstanceState
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db


@dataclass
class _Update:
    obj: Any
    values: dict[str, Any]  # attribute key -> new value (the version column's included)
    stmt: Update  # its parameters are named w<n>_<column>, so several fit in one statement
    params: dict[str, Any]


@dataclass
class _Insert:
    obj: Any
    pk_key: str
    values: dict[str, Any]  # attribute key -> value, Python-side defaults filled in
    stmt: Insert
    params: dict[str, Any]


@dataclass
class Batch:
    """Pending changes as statements: :meth:`columns` (CTEs) or :meth:`write` (one each)."""

    updates: list[_Update] = field(default_factory=list)
    inserts: list[_Insert] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        """The bound values of every change (their names do not collide)."""
        out: dict[str, Any] = {}
        for u in self.updates:
            out.update(u.params)
        for i in self.inserts:
            out.update(i.params)
        return out

    @property
    def shape(self) -> tuple[Update | Insert, ...]:
        """The statements, in order: batches of the same shape share one compiled statement."""
        return (*(u.stmt for u in self.updates), *(i.stmt for i in self.inserts))

    def columns(self) -> list[ColumnElement[Any]]:
        """One scalar per change, each a CTE: rows updated (must be 1), then each new row's id.
        Execute the statement with :attr:`params`."""
        counts = [_count(u.stmt, n) for n, u in enumerate(self.updates)]
        ids = [_new_id(i.stmt, n) for n, i in enumerate(self.inserts, start=len(self.updates))]
        return [*counts, *ids]

    def write(self, conn: Connection) -> None:
        """Without writable CTEs (SQLite): one Core statement per change, then :meth:`applied`.
        The same statements as the unit of work's, without its per-flush bookkeeping."""
        counts = [len(conn.execute(u.stmt, u.params).all()) for u in self.updates]
        self.applied([*counts, *(conn.execute(i.stmt, i.params).scalar_one() for i in self.inserts)])

    def applied(self, values: Sequence[Any]) -> None:
        """Mark the objects written, given the statement's :meth:`columns` values.

        :raise StaleDataError: a row changed under us (its version moved), as the unit of work
            would; the caller's transaction rolls back.
        """
        counts, ids = values[:len(self.updates)], values[len(self.updates):]
        if any(n != 1 for n in counts):
            raise StaleDataError("a row was changed or deleted by another transaction")
        session = db.session()
        for u in self.updates:
            for key, value in u.values.items():
                set_committed_value(u.obj, key, value)
            # written: what the unit of work does after a flush, so the commit has nothing to do
            instance_state(u.obj)._commit_all(instance_state(u.obj).dict, session.identity_map)
        for ins, new_id in zip(self.inserts, ids, strict=True):
            session.expunge(ins.obj)
            for key, value in ins.values.items():
                set_committed_value(ins.obj, key, value)
            set_committed_value(ins.obj, ins.pk_key, new_id)
            make_transient_to_detached(ins.obj)
            session.add(ins.obj)


@lru_cache(maxsize=256)
def _count(stmt: Update, n: int) -> ColumnElement[Any]:
    return select(func.count()).select_from(stmt.cte(f"w{n}")).scalar_subquery()


@lru_cache(maxsize=256)
def _new_id(stmt: Insert, n: int) -> ColumnElement[Any]:
    return select(*stmt.cte(f"w{n}").c).scalar_subquery()


@lru_cache(maxsize=64)
def _plain(mapper: Mapper[Any]) -> Table | None:
    """The mapper's one table, if rows of it can be written by a CTE (no inheritance, one
    integer key, no ``onupdate``)."""
    table = mapper.local_table
    if mapper.inherits is not None or not isinstance(table, Table) or len(mapper.primary_key) != 1:
        return None
    if any(c.onupdate is not None or c.server_onupdate is not None for c in table.c):
        return None
    return table


def _changes(state: InstanceState[Any], mapper: Mapper[Any]) -> dict[str, Any] | None:
    """Changed column values by attribute key (None: a change a CTE cannot carry)."""
    out: dict[str, Any] = {}
    for key in state.committed_state:
        if key in mapper.relationships:
            return None
        if key not in mapper.column_attrs:
            return None
        added = get_history(state.obj(), key).added
        if added:
            out[key] = added[0]
    return out


def _column_key(mapper: Mapper[Any], key: str) -> str:
    return mapper.column_attrs[key].columns[0].key


@lru_cache(maxsize=256)
def _update_stmt(mapper: Mapper[Any], keys: tuple[str, ...], versioned: bool, n: int) -> Update:
    """UPDATE of ``keys`` (attribute keys) by primary key (and version), parameters w<n>_*."""
    table = _plain(mapper)
    assert table is not None
    pk = mapper.primary_key[0]
    where = [pk == bindparam(f"w{n}_pk", type_=pk.type)]
    if versioned:
        vcol = mapper.version_id_col
        assert vcol is not None
        where.append(vcol == bindparam(f"w{n}_version", type_=vcol.type))
    cols = {_column_key(mapper, k): bindparam(f"w{n}_{_column_key(mapper, k)}",
                                              type_=mapper.column_attrs[k].columns[0].type) for k in keys}
    return update(table).where(*where).values(cols).returning(pk)


@lru_cache(maxsize=256)
def _insert_stmt(mapper: Mapper[Any], keys: tuple[str, ...], n: int) -> Insert:
    """INSERT of ``keys`` (attribute keys) returning the new key, parameters w<n>_*."""
    table = _plain(mapper)
    assert table is not None
    cols = {_column_key(mapper, k): bindparam(f"w{n}_{_column_key(mapper, k)}",
                                              type_=mapper.column_attrs[k].columns[0].type) for k in keys}
    return insert(table).values(cols).returning(mapper.primary_key[0])


def _update(n: int, obj: Any, state: InstanceState[Any], mapper: Mapper[Any],
            changes: dict[str, Any]) -> _Update | None:
    identity = state.identity
    if identity is None:
        return None
    params = {f"w{n}_pk": identity[0]}
    values = dict(changes)
    vcol = mapper.version_id_col
    if vcol is not None:
        generate = mapper.version_id_generator
        if generate is False or generate is None:
            return None
        vkey = mapper.get_property_by_column(vcol).key
        old = state.dict.get(vkey)
        params[f"w{n}_version"] = old
        values[vkey] = generate(old)
    params.update({f"w{n}_{_column_key(mapper, k)}": v for k, v in values.items()})
    stmt = _update_stmt(mapper, tuple(values), vcol is not None, n)
    return _Update(obj, values, stmt, params)


def _insert(n: int, obj: Any, state: InstanceState[Any], mapper: Mapper[Any],
            table: Table) -> _Insert | None:
    pk = mapper.primary_key[0]
    pk_key = mapper.get_property_by_column(pk).key
    if state.dict.get(pk_key) is not None:
        return None
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        col = prop.columns[0]
        if prop.key == pk_key or col.table is not table:
            continue
        value = state.dict.get(prop.key)
        if value is not None or (prop.key in state.dict and col.type.should_evaluate_none):
            values[prop.key] = value  # the unit of work also writes a JSON null, not the default
        elif col.default is not None:
            default = col.default
            if default.is_scalar:
                values[prop.key] = default.arg
            elif default.is_callable:
                values[prop.key] = default.arg(None)
            else:
                return None  # a SQL expression or a sequence: leave it to the unit of work
    params = {f"w{n}_{_column_key(mapper, k)}": v for k, v in values.items()}
    return _Insert(obj, pk_key, values, _insert_stmt(mapper, tuple(values), n), params)


def take(classes: tuple[type, ...]) -> Batch | None:
    """The session's pending changes as statements, or None when there are none or one of
    them cannot travel that way (then the unit of work flushes them as usual)."""
    session = db.session()
    if session.deleted:
        return None
    batch = Batch()
    n = 0
    for obj in session.dirty:
        state: InstanceState[Any] = instance_state(obj)
        if not isinstance(obj, classes):
            if session.is_modified(obj):
                return None
            continue
        mapper = state.mapper
        changes = _changes(state, mapper)
        if _plain(mapper) is None or changes is None:
            return None
        if not changes:
            continue
        u = _update(n, obj, state, mapper, changes)
        if u is None:
            return None
        batch.updates.append(u)
        n += 1
    for obj in session.new:
        if not isinstance(obj, classes):
            return None
        new_state: InstanceState[Any] = instance_state(obj)
        mapper = new_state.mapper
        table = _plain(mapper)
        if table is None or any(k in mapper.relationships for k in new_state.committed_state):
            return None
        i = _insert(n, obj, new_state, mapper, table)
        if i is None:
            return None
        batch.inserts.append(i)
        n += 1
    return batch if batch.updates or batch.inserts else None
