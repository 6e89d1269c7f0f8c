"""The beacon's writes: query budgets (in the cache) and the audit entry of every query.

Budgets (Raisaro et al. 2017): each asker -- a signed-in user, or an anonymous IP address --
has a daily budget. A query about a rare allele costs RARE_COST, any other query 1. Before
answering, the asker must have RARE_COST left, whatever the query turns out to cost: so a
refusal (429) never tells anyone whether the allele they asked about is rare.

The counters live in the Django cache (Redis in production: `CACHE_URL`); it is not the
source of truth for anything else, and losing it only resets the day's budgets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from access.beacon import BeaconActions
from portal.audit import audit_log
from portal.exceptions import PortalError
from portal.models import User

# Three questions about rare alleles a day for an anonymous IP address, fifty for a signed-in
# user (who is accountable): tests/access/test_beacon_attack.py replays Shringarpure and
# Bustamante's likelihood-ratio attack against a demo beacon and these stop it short of 95%.
ANONYMOUS_DAILY_BUDGET = 100
USER_DAILY_BUDGET = 1500
RARE_COST = 30
COMMON_COST = 1


class BudgetExceeded(PortalError):
    code = "budget_exceeded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def rare_cost() -> int:
    return _setting("BEACON_RARE_COST", RARE_COST)


@dataclass(frozen=True)
class Client:
    """Who is asking: the user if signed in, otherwise the IP address (kept only as a keyed
    hash: the ledger and the steward's page need to tell askers apart, not to locate them)."""

    user: User | None
    ip: str

    @property
    def ip_tag(self) -> str:
        key = settings.SECRET_KEY.encode()
        return hmac.new(key, self.ip.encode(), hashlib.sha256).hexdigest()[:16]

    @property
    def key(self) -> str:
        return f"user:{self.user.pk}" if self.user is not None else f"ip:{self.ip_tag}"

    @property
    def daily_budget(self) -> int:
        if self.user is not None:
            return _setting("BEACON_USER_DAILY_BUDGET", USER_DAILY_BUDGET)
        return _setting("BEACON_ANONYMOUS_DAILY_BUDGET", ANONYMOUS_DAILY_BUDGET)


def _window() -> tuple[str, int]:
    """Today's budget window (UTC) and the seconds until the next one."""
    now = timezone.now().astimezone(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return now.date().isoformat(), max(1, int((tomorrow - now).total_seconds()))


def _budget_key(client: Client) -> tuple[str, int]:
    day, left = _window()
    return f"beacon:budget:{day}:{client.key}", left


def budget_spent(client: Client) -> int:
    key, _ = _budget_key(client)
    return int(cache.get(key, 0))


def beacon_budget_check(*, client: Client) -> None:
    """Refuse (429) unless the asker can still afford the dearest query."""
    key, left = _budget_key(client)
    spent = int(cache.get(key, 0))
    if spent + rare_cost() > client.daily_budget:
        raise BudgetExceeded(
            f"You have used today's beacon query budget ({client.daily_budget} units; a query "
            f"about a rare allele costs {rare_cost()}, any other 1). It renews at midnight UTC, "
            f"in {left // 3600} h {left % 3600 // 60} min. To ask more, apply for access to "
            "the dataset.",
            retry_after=left,
        )


def beacon_budget_spend(*, client: Client, cost: int) -> int:
    """Charge the query; returns the units spent today. Atomic in Redis (INCRBY)."""
    key, left = _budget_key(client)
    cache.add(key, 0, timeout=left + 60)
    try:
        return int(cache.incr(key, cost))
    except ValueError:  # expired between add and incr
        cache.set(key, cost, timeout=left + 60)
        return cost


def beacon_query_audit(*, client: Client, query: dict[str, Any], outcome: dict[str, Any]) -> None:
    """One ledger entry per query, answered or refused."""
    with transaction.atomic(durable=True):
        audit_log(
            actor=client.user,
            action=BeaconActions.QUERY,
            object_type="beacon",
            object_id="g_variants",
            after={"client": client.key, "query": query, **outcome},
            # A query changes nothing a cached answer depends on (portal.audit.state_version).
            changes_state=False,
        )
