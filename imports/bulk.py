"""Inserting many rows fast, with their simple-history rows, and getting their ids back.

``Inserter(model, fields)`` takes rows as tuples of database-ready values in ``fields``
order (attnames, e.g. ``village_id``); every other column gets its default (``auto_now`` and
``auto_now_add`` columns the import's time). On PostgreSQL the ids are drawn from the
table's sequence first and the rows go in with ``COPY`` — an order of magnitude faster than
``bulk_create`` for 100,000 rows, whose cost is mostly preparing each value in Python. On
other databases it falls back to ``bulk_create`` (with ``bulk_create_with_history``).

Everything runs on Django's connection, inside the caller's transaction. On PostgreSQL a
``Pipeline`` may run the COPYs in a thread of their own (on that same connection, one after
the other, in order), so that the server stores one chunk's rows while Python prepares the
next: the caller must ``drain()`` it before it uses the connection itself.
"""

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter

from django.db import connection, models
from simple_history.utils import bulk_create_with_history

BATCH = 2000
PENDING = 8  # COPYs a pipeline holds before the caller waits (each a chunk of one table)
IDS = 5000  # ids drawn from a sequence at a time (at least)


def _copy_statement(table, fields) -> tuple[str, list[str] | None]:
    """The COPY statement of ``fields`` of ``table`` and its binary types (None: text)."""
    names = ", ".join(_quote(f.column) for f in fields)
    types = _copy_types(fields)
    binary = " (FORMAT BINARY)" if types is not None else ""
    return f"COPY {_quote(table)} ({names}) FROM STDIN{binary}", types


def _copy_into(raw, statement, types, values):
    """``values`` (tuples) through ``statement`` on psycopg's connection ``raw``."""
    with raw.cursor() as cursor:
        with cursor.copy(statement) as copy:
            if types is not None:
                copy.set_types(types)
            write = copy.write_row
            for row in values:
                write(row)


class Pipeline:
    """COPYs run in order by one thread on Django's (PostgreSQL) connection, while the
    caller goes on. ``drain()`` waits for them all and raises the first error (mapped to
    Django's database errors, e.g. IntegrityError); after an error the COPYs still queued
    are skipped. ``close()`` drops what is queued and waits for the running one."""

    def __init__(self):
        connection.ensure_connection()
        self.raw = connection.connection  # psycopg's: its lock keeps a COPY whole
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-copy")
        self._pending: deque[Future] = deque()
        self._failed = threading.Event()

    def submit(self, work):
        while len(self._pending) >= PENDING:  # bounds the rows held in memory
            self._result(self._pending.popleft())
        self._pending.append(self._executor.submit(self._run, work))

    def _run(self, work):
        if not self._failed.is_set():
            try:
                work(self.raw)
            except BaseException:
                self._failed.set()
                raise

    def _result(self, future: Future):
        with connection.wrap_database_errors:
            future.result()

    def drain(self):
        while self._pending:
            self._result(self._pending.popleft())

    def close(self):
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._executor.shutdown(wait=True)


# A column's type for a binary COPY (psycopg's name), by the base of its database type;
# a table with any other type is copied as text.
_COPY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "boolean": "bool",
    "varchar": "varchar",
    "text": "text",
    "date": "date",
    "timestamp with time zone": "timestamptz",
    "numeric": "numeric",
}


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _copy_types(fields) -> list[str] | None:
    """The binary COPY types of ``fields`` (None: copy as text). Binary rows are about
    twice as fast to format as text ones, on both sides."""
    types = []
    for field in fields:
        base = (field.db_type(connection) or "").split("(")[0].strip()
        if base not in _COPY_TYPES:
            return None
        types.append(_COPY_TYPES[base])
    return types


class Inserter:
    def __init__(
        self, model, fields: list[str], *, now, history_user=None, pipeline=None, ids=True
    ):
        """``pipeline``: a ``Pipeline`` to run the COPYs in (PostgreSQL). ``ids`` False: the
        rows' ids are not wanted (the database numbers them; ``insert`` returns [])."""
        self.model = model
        self.fields = list(fields)
        self.now = now
        self.history_user = history_user
        self.history = getattr(model, "history", None)
        self.pipeline = pipeline
        self.want_ids = ids
        self._ids: deque[int] = deque()  # drawn from the sequence, not used yet
        supplied = set(self.fields)
        self.defaults: dict[str, object] = {}
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in supplied:
                continue
            self.defaults[field.attname] = self._default(field)
        if connection.vendor == "postgresql":
            self._prepare_copy()

    def _default(self, field):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return self.now
        if field.has_default():
            return field.get_default()
        if field.null:
            return None
        if isinstance(field, models.CharField | models.TextField):
            return ""
        raise ValueError(f"{self.model.__name__}.{field.attname} needs a value")

    def reserve(self, count: int):
        """Draw ``count`` ids at once now (PostgreSQL), for the rows to come: one query
        instead of one per chunk, made before the pipeline is busy."""
        if connection.vendor == "postgresql" and count > len(self._ids):
            self._draw(count - len(self._ids))

    def insert(self, rows: list[tuple]) -> list[int]:
        """Insert ``rows``; their new primary keys, in order."""
        if not rows:
            return []
        if connection.vendor == "postgresql":
            return self._copy(rows)
        return self._orm(rows)

    # PostgreSQL: ids from the sequence, rows by COPY.

    def _draw(self, count: int):
        if self.pipeline is not None:
            self.pipeline.drain()  # the connection is the pipeline's until then
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [self.model._meta.db_table, self.model._meta.pk.column, count],
            )
            self._ids.extend(row[0] for row in cursor.fetchall())

    def _prepare_copy(self):
        meta = self.model._meta
        pk = [meta.pk] if self.want_ids else []
        fields = [*pk, *self._fields(self.fields), *self._fields(self.defaults)]
        self._statement = _copy_statement(meta.db_table, fields)
        self._tail = tuple(self.defaults.values())
        if self.history is not None:
            self._prepare_history()

    def _copy(self, rows):
        tail = self._tail
        if self.want_ids:
            if len(self._ids) < len(rows):
                self._draw(max(len(rows) - len(self._ids), IDS))
            ids = [self._ids.popleft() for _ in rows]
            values = [(i, *row, *tail) for i, row in zip(ids, rows, strict=True)]
        else:
            ids = []
            values = [(*row, *tail) for row in rows]
        history = self._history_rows(ids, rows) if self.history is not None else None
        statement = self._statement

        def work(raw):
            _copy_into(raw, *statement, values)
            if history is not None:
                _copy_into(raw, *self._history_statement, history)

        if self.pipeline is not None:
            self.pipeline.submit(work)
        else:
            connection.ensure_connection()
            work(connection.connection)
        return ids

    def _fields(self, attnames):
        by_attname = {f.attname: f for f in self.model._meta.concrete_fields}
        return [by_attname[name] for name in attnames]

    def _prepare_history(self):
        historical = self.history.model
        tracked = {f.attname for f in historical._meta.concrete_fields}
        picks = []  # (field, where its value comes from)
        index = {name: i for i, name in enumerate(self.fields)}
        for field in historical._meta.concrete_fields:
            name = field.attname
            if name == "history_id":
                continue
            if name == "id":
                picks.append((field, ("id", None)))
            elif name in index:
                picks.append((field, ("row", index[name])))
            elif name in self.defaults:
                picks.append((field, ("value", self.defaults[name])))
            elif name == "history_date":
                picks.append((field, ("value", self.now)))
            elif name == "history_type":
                picks.append((field, ("value", "+")))
            elif name == "history_user_id":
                user = self.history_user.pk if self.history_user is not None else None
                picks.append((field, ("value", user)))
            elif name in tracked:
                picks.append((field, ("value", None)))

        # Each history row is picked out of (pk, *row, *constants) by one itemgetter.
        constants = [arg for _column, (kind, arg) in picks if kind == "value"]
        positions, constant = [], 1 + len(self.fields)
        for _column, (kind, arg) in picks:
            if kind == "id":
                positions.append(0)
            elif kind == "row":
                positions.append(1 + arg)
            else:
                positions.append(constant)
                constant += 1
        self._history_pick = itemgetter(*positions)
        self._history_tail = tuple(constants)
        self._history_statement = _copy_statement(historical._meta.db_table, [f for f, _ in picks])

    def _history_rows(self, ids, rows) -> list[tuple]:
        pick, tail = self._history_pick, self._history_tail
        return [pick((pk, *row, *tail)) for pk, row in zip(ids, rows, strict=True)]

    # Elsewhere: the ORM.

    def _orm(self, rows):
        objs = [
            self.model(**dict(zip(self.fields, row, strict=True)), **self.defaults) for row in rows
        ]
        if self.history is not None:
            objs = bulk_create_with_history(
                objs, self.model, batch_size=BATCH, default_user=self.history_user
            )
        else:
            objs = self.model.objects.bulk_create(objs, batch_size=BATCH)
        return [obj.pk for obj in objs]
