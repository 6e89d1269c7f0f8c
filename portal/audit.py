"""The audit ledger: append an entry in the caller's transaction, with no lock shared by
unrelated writers; and the version of the portal's state that caches are keyed by.

Ordering and hashing happen afterwards: the sealer (portal/ledger.py) gives committed
entries consecutive leaves in the transparency log's Merkle tree and signs checkpoints.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from portal.db import fetch_prepared
from portal.models import AuditEvent, User

# The first link of the consent records' per-participant chains (consent/ledger.py).
GENESIS_HASH = "0" * 64

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(previous_hash: str, payload: Mapping[str, Any]) -> str:
    """The SHA-256 of the previous link and this entry's canonical JSON."""
    digest = hashlib.sha256(previous_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(payload).encode("utf-8"))
    return digest.hexdigest()


def _payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
    }


def audit_log(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    changes_state: bool = True,
) -> AuditEvent:
    """Append one entry; call it inside the service's own transaction.

    One INSERT and nothing else: no lock, no read of earlier entries, so audited writes never
    wait for each other here. `changes_state=False` for an entry that only records a read
    (a beacon query): it leaves `state_version` where it was.
    """
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    before_json, after_json = canonical_json(before or {}), canonical_json(after or {})
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor_obj,
        actor_label=actor_obj.email if actor_obj else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=json.loads(before_json),
        after=json.loads(after_json),
        request_id=request_id_var.get(),
        changes_state=changes_state,
    )
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        event.save(force_insert=True)
        return event
    # Every audited write runs this: a prepared INSERT of the canonical JSON as it is, not
    # the ORM compiling the statement and encoding both documents again (half the cost).
    ((event.pk,),) = fetch_prepared(
        _INSERT_EVENT,
        [
            event.occurred_at,
            event.actor_id,
            event.actor_label,
            event.action,
            event.object_type,
            event.object_id,
            before_json,
            after_json,
            event.request_id,
            event.changes_state,
        ],
    )
    event._state.adding = False
    event._state.db = db.alias
    return event


_INSERT_EVENT = (
    "INSERT INTO portal_auditevent (occurred_at, actor_id, actor_label, action, object_type,"
    ' object_id, "before", "after", request_id, changes_state)'
    " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s) RETURNING id"
)


# The version of the portal's state ---------------------------------------------------------


def state_version_sql() -> str:
    """One SQL expression for `state_version`, to read it in the same statement as other
    columns (the API token lookup, a signed link's state).

    Why not the largest audit id
    ----------------------------
    Every change a cached answer can depend on (consent, grants, deliveries, links, files) is
    audited in the transaction that makes it, so "the newest entry" looks like a version. It
    is not one now that writers take no lock: a transaction can draw id 10, stay open while
    id 12 commits, and commit after a reader cached an answer under "12"; the answer misses
    entry 10's change and "12" never moves again. Nor the snapshot (`pg_current_snapshot()`)
    alone: it identifies exactly what is visible, but it moves on every write in the cluster,
    beacon queries included, so nothing would stay cached. Nor a counter row bumped by each
    writer: its row lock is the global lock again. Nor a Redis counter bumped after commit:
    it is one more round trip per request, lost if the process dies between the commit and
    the bump, and reset when Redis restarts.

    What it is
    ----------
    Let M be the largest id of a visible entry that changes state (`changes_state`), and
    `sealed_through` the sealer's mark (portal/ledger.py): every transaction that drew an
    audit id up to it has finished. Both are read by one statement, so from one snapshot.

    - M <= sealed_through: every entry up to M is settled, and none above M is visible, so
      what the reader sees of the state is exactly "every committed state change up to M".
      The version is "M": two readers with the same M see the same state, whatever else
      (beacon queries, sessions) was written in between.
    - M > sealed_through (for a few seconds after a change, until the sealer passes it): a
      transaction with a smaller id may still be open and commit later. The version is
      "M@" and the md5 of the snapshot: equal only for readers that see exactly the same
      committed transactions, so a late commit always changes it.

    The rule for readers: read the version before the data the answer is computed from (or
    in the same statement), never after. Under READ COMMITTED later statements see at least
    what the version's snapshot saw, so an answer cached under a version is never older than
    the state the version names; a newer one is harmless. tests/portal/test_state_version.py
    runs the late commit against readers in threads.
    """
    if connection.vendor == "postgresql":
        # The rule above as a PL/pgSQL function (migration 0013): its plans are kept per
        # connection, where the same subqueries inline cost more to plan than to run.
        return "custodian_state_version()"
    # SQLite runs one writer at a time (IMMEDIATE): ids commit in order.
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    return f"(SELECT COALESCE(MAX(id), 0) FROM {events} WHERE changes_state)"  # noqa: S608


def state_version() -> str:
    """The version of everything the portal's cached answers depend on (see
    `state_version_sql`): it moves whenever a state change commits, and stays put through
    entries that only record reads. At most 52 characters (a delivery keeps it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {state_version_sql()}")  # noqa: S608
        (version,) = cursor.fetchone()
    return str(version)
