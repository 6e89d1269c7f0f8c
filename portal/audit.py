"""The audit ledger: append an entry in the caller's transaction, verify the hash chain."""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from portal.models import AuditEvent, User

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every writer of the ledger.
_LEDGER_LOCK_KEY = 0x637573746F6469  # "custodi"

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


def _lock_ledger() -> None:
    # Appends must see the previous entry: serialize them until the writer commits.
    # SQLite runs transactions IMMEDIATE (see settings), which serializes writers already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LEDGER_LOCK_KEY])


def ledger_head() -> str:
    """The hash of the newest entry: it changes with every audited write in the portal.

    Every service writes its audit entry in its own transaction, so a value computed from
    the database and cached under this head is stale exactly when the head has moved.
    """
    head = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
    return head or GENESIS_HASH


def audit_log(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry; call it inside the service's own transaction."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    # No savepoint when the caller's transaction is already open: nothing here to roll back
    # on its own, and the round trips count on every write of the portal.
    with transaction.atomic(savepoint=False):
        _lock_ledger()
        last = ledger_head()
        actor_obj = actor if actor is not None and actor.is_authenticated else None
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor=actor_obj,
            actor_label=actor_obj.email if actor_obj else "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=json.loads(canonical_json(before or {})),
            after=json.loads(canonical_json(after or {})),
            request_id=request_id_var.get(),
            previous_hash=last,
        )
        event.entry_hash = chain_hash(event.previous_hash, _payload(event))
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class LedgerBreak:
    entry_id: int
    problem: str


@dataclass(frozen=True)
class LedgerReport:
    entries_checked: int
    first_break: LedgerBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def _entries() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)


def audit_verify() -> LedgerReport:
    """Recompute the whole chain and report the first entry that does not fit."""
    previous_hash = GENESIS_HASH
    checked = 0
    for event in _entries():
        if event.previous_hash != previous_hash:
            return LedgerReport(
                checked,
                LedgerBreak(
                    event.pk,
                    f"entry #{event.pk} does not follow the entry before it "
                    "(an entry was deleted, inserted or reordered)",
                ),
            )
        if chain_hash(event.previous_hash, _payload(event)) != event.entry_hash:
            return LedgerReport(
                checked,
                LedgerBreak(
                    event.pk,
                    f"entry #{event.pk} ({event.action} {event.object_type}:{event.object_id}) "
                    "does not match its hash: its content was edited",
                ),
            )
        previous_hash = event.entry_hash
        checked += 1
    return LedgerReport(checked, None)
