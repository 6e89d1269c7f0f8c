"""Hand-written queries on a hot path, prepared once per database connection.

PostgreSQL plans every statement it is sent. For the beacon's consent filter of a declared
purpose (a dozen joins, subqueries and ORs) planning took 2.9 ms and running it 0.1 ms
(docs/beacon.md), so the query is prepared: planned once per connection, then only executed
(after five executions PostgreSQL keeps a generic plan when it costs no more than the custom
ones). Django turns psycopg's preparation off (`prepare_threshold=None`) so that
transaction-pooling proxies keep working; this turns it back on for the statements it runs
only: the threshold is set out of reach, so nothing is prepared unless asked for, and
Django's own cursors bind parameters on the client, which psycopg never prepares. Do not run
the portal behind a transaction-pooling proxy that loses prepared statements (PgBouncer in
transaction mode before 1.21).

psycopg keeps each connection's prepared statements (at most `prepared_max`, 100), so a new
connection simply prepares again. Django's query log and execute wrappers do not see these
statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.query import ModelIterable
from django.db.models.sql.compiler import SQLCompiler

# psycopg prepares a statement once it has run this many times, or at once when asked.
_ONLY_WHEN_ASKED = 2**31 - 1


def fetch_prepared(
    sql: str, params: Sequence[Any], *, binary: bool = False
) -> list[tuple[Any, ...]]:
    """Every row of `sql` (%s placeholders) with `params`, prepared on PostgreSQL.

    `binary` asks for results in PostgreSQL's binary format: bytea arrives as it is stored
    instead of as hex text to decode (a 1 Mb beacon range reads ~28,000 bitmaps). Not for
    JSON columns, which Django's converters expect as text."""
    # The connection itself, not the `connection` proxy: each attribute read through the
    # proxy looks the connection up again in a context-local store (a tenth of a millisecond
    # in all, on a path that runs for every audited write).
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()
    import psycopg

    db.ensure_connection()
    db.validate_no_broken_transaction()
    raw = db.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    # A server-side-binding cursor on Django's own connection: the same transaction, the
    # same type adapters (JSON as text, time zone), but parameters sent apart from the SQL,
    # which is what a prepared statement needs (Django's cursors bind on the client).
    with db.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True, binary=binary)
        return cursor.fetchall()


class PreparedQuery:
    """An ORM query compiled to SQL once per process and database engine, then run as a
    prepared statement (`fetch_prepared`), for the few reads on a hot path where compiling a
    queryset costs more than running it (a consent update compiled five: a third of its
    Python time, docs/benchmarks.md).

    `build` returns the queryset with placeholder values, one condition per `filter()` (the
    conditions of one call are taken in the order of their names), and each call passes the
    real values in that order; the count is checked. Rows come back as the
    queryset's own model instances, with one level of `select_related` attached, or as
    tuples for a `values_list` query. Converters are the ORM's own (JSON, dates on SQLite).
    """

    def __init__(self, build: Callable[[], QuerySet[Any]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, db: BaseDatabaseWrapper) -> _Compiled:
        compiled = self._compiled.get(db.vendor)
        if compiled is None:
            queryset = self._build()
            compiler = queryset.query.get_compiler(connection=db)
            sql, params = compiler.as_sql()
            columns = [select[0] for select in compiler.select]
            models = queryset._iterable_class is ModelIterable
            shape = _shape(compiler.klass_info, columns) if models else None
            compiled = _Compiled(
                sql, len(params), compiler, compiler.get_converters(columns), shape
            )
            self._compiled[db.vendor] = compiled
        return compiled

    def rows(self, *params: Any) -> list[Any]:
        db = connections[DEFAULT_DB_ALIAS]
        compiled = self._compile(db)
        if len(params) != compiled.param_count:
            raise TypeError(f"{compiled.param_count} parameters expected, {len(params)} given")
        rows: Iterable[Any] = fetch_prepared(compiled.sql, params)
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        shape = compiled.shape
        if shape is None:
            return [tuple(row) for row in rows]
        return [shape.instance(row, db.alias) for row in rows]

    def first(self, *params: Any) -> Any | None:
        found = self.rows(*params)
        return found[0] if found else None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    param_count: int
    compiler: SQLCompiler
    converters: dict[int, Any]
    shape: _Shape | None


@dataclass(frozen=True)
class _Shape:
    """Where a model's columns are in a row, and the related models selected with it."""

    model: type[Model]
    indexes: list[int]
    names: list[str]
    related: list[tuple[Any, _Shape]]  # (the forward relation's field, its model's shape)

    def instance(self, row: Sequence[Any], alias: str) -> Model:
        instance = self.model.from_db(alias, self.names, [row[i] for i in self.indexes])
        for field, shape in self.related:
            field.set_cached_value(instance, shape.instance(row, alias))
        return instance


def _shape(info: dict[str, Any], columns: list[Any]) -> _Shape:
    related = []
    for child in info.get("related_klass_infos", ()):
        if child.get("reverse") or child.get("from_parent"):
            raise NotImplementedError("only forward select_related is prepared")
        related.append((child["field"], _shape(child, columns)))
    indexes = list(info["select_fields"])
    names = [columns[i].target.attname for i in indexes]
    return _Shape(info["model"], indexes, names, related)


def insert_prepared(instance: Model) -> None:
    """`instance.save(force_insert=True)` as a prepared INSERT, for a hot path's row: for a
    model with no save() of its own and no signal receivers, an automatic primary key and no
    database defaults. Each value is prepared by its field, as the ORM's INSERT would."""
    db = connections[DEFAULT_DB_ALIAS]
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection=db) for f in fields]
    ((pk,),) = fetch_prepared(_insert_sql(type(instance), db.vendor), values)
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = db.alias


def update_prepared(model: type[Model], key: tuple[str, Any], values: dict[str, Any]) -> int:
    """`model.objects.filter(**dict([key])).update(**values)` as a prepared UPDATE; the
    number of rows changed. Same limits as `insert_prepared`; a relation's value may be the
    related instance."""
    db = connections[DEFAULT_DB_ALIAS]
    params = [
        _field(model, name).get_db_prep_save(v.pk if isinstance(v, Model) else v, connection=db)
        for name, v in values.items()
    ]
    params.append(_field(model, key[0]).get_db_prep_value(key[1], db))
    return len(fetch_prepared(_update_sql(model, db.vendor, tuple(values), key[0]), params))


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", model._meta.get_field(name))


@cache
def _insert_sql(model: type[Model], vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    meta = model._meta
    columns = [quote(str(f.column)) for f in meta.concrete_fields if f is not meta.pk]
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING {quote(str(meta.pk.column))}"
    )


@cache
def _update_sql(model: type[Model], vendor: str, names: tuple[str, ...], key: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sets = ", ".join(f"{quote(str(_field(model, n).column))} = %s" for n in names)
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {sets} "  # noqa: S608
        f"WHERE {quote(str(_field(model, key).column))} = %s RETURNING 1"
    )
