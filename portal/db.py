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

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

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
