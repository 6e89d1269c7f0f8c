"""The one way to move a status field: check the app's table, update only if unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from django.db import models

from portal.audit import audit_log
from portal.exceptions import PortalError, StaleStateError
from portal.models import User

S = TypeVar("S", bound=Enum)


class StateTable(dict[S, frozenset[S]]):
    """A status field's transition table, with the audit action each move is recorded as.

    The action names are written out beside each table (stored in the ledger, so never
    renamed; `grep` for one finds its table), and every status a move can reach has one.
    """

    def __init__(self, moves: Mapping[S, frozenset[S]], *, actions: Mapping[S, str]) -> None:
        super().__init__(moves)
        reachable = set().union(*moves.values())
        if reachable != set(actions):
            named, moves_to = sorted(map(str, actions)), sorted(map(str, reachable))
            raise ValueError(f"Action names for {named}, moves to {moves_to}.")
        self.actions: dict[S, str] = dict(actions)


class TransitionError(PortalError):
    code = "invalid_transition"
    http_status = 409


def transition(
    obj: models.Model,
    to: Enum,
    *,
    table: StateTable[Any],
    actor: User | None,
    reason: str = "",
    field: str = "status",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Move `obj.<field>` to `to` if the table allows it; call inside the service's transaction.

    The update is conditional on the status read, so of two concurrent movers one wins and
    the other gets StaleStateError. The audit entry is the history row.
    """
    current = getattr(obj, field)
    if to not in table.get(current, frozenset()):
        label = str(obj._meta.verbose_name)
        article = "An" if label[:1] in "aeiou" else "A"
        now, then = str(current).replace("_", " "), to.value.replace("_", " ")
        raise TransitionError(f"{article} {label} that is {now} cannot become {then}.")
    updated = (
        type(obj)
        ._default_manager.filter(pk=obj.pk, **{field: current})
        .update(**{field: to}, **(extra or {}))
    )
    if updated != 1:
        raise StaleStateError("Someone else changed this first. Reload the page and try again.")
    setattr(obj, field, to)
    for name, value in (extra or {}).items():
        setattr(obj, name, value)
    audit_log(
        actor=actor,
        action=table.actions[to],
        target=obj,
        before={field: str(current)},
        after={field: to.value, **({"reason": reason} if reason else {})},
    )
