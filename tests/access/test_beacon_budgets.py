"""Query budgets, in Redis: each asker (user, or anonymous IP) has a daily budget; a query
about a rare allele costs more; past the budget, a 429 in the Beacon error shape. Every
query is audited, answered or refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from portal.models import AuditEvent, User
from tests.access.beacon_support import BeaconWorld, ask, fresh_redis_cache, sequence, validate
from tests.conftest import signed_in_client

COMMON = sequence(5000, "A", "T")  # six of the ten samples carry it
RARE = sequence(2000, "C", "T")  # one sample in ten carries it
ABSENT = sequence(2000, "C", "A")


@pytest.fixture(autouse=True)
def redis_budgets(settings: Any) -> None:
    """The real Redis, under a prefix of this test's own; a singleton (1 in 10) is rare."""
    fresh_redis_cache(settings, "beacon")
    settings.BEACON_ANONYMOUS_DAILY_BUDGET = 25
    settings.BEACON_USER_DAILY_BUDGET = 40
    settings.BEACON_RARE_COST = 10
    settings.BEACON_RARE_FREQUENCY = 0.15


def test_rare_alleles_cost_more_and_the_budget_ends_in_a_429(beacon_world: BeaconWorld) -> None:
    client = Client()
    assert ask(client, COMMON).status_code == 200  # 1
    assert ask(client, RARE).status_code == 200  # 11
    assert ask(client, ABSENT).status_code == 200  # 12: nothing found is not rare
    assert ask(client, RARE).status_code == 200  # 22

    refused = ask(client, COMMON)  # 22 + 10 (the dearest query) > 25

    assert refused.status_code == 429
    validate(refused.json(), "responses/beaconErrorResponse.json")
    assert refused.json()["error"]["errorCode"] == 429
    assert "used today's beacon query budget (25 units" in refused.json()["error"]["errorMessage"]
    assert 0 < int(refused["Retry-After"]) <= 86_400
    costs = [e.after.get("cost") for e in AuditEvent.objects.filter(action="beacon.query")]
    assert costs == [1, 10, 1, 10, None]


def test_budgets_are_per_ip_and_per_user(beacon_world: BeaconWorld, researcher: User) -> None:
    first, second = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2")
    for _ in range(2):
        assert ask(first, RARE).status_code == 200
    assert ask(first, RARE).status_code == 429
    assert ask(second, RARE).status_code == 200

    signed_in = signed_in_client(researcher)  # from 127.0.0.1, its own budget of 40
    for _ in range(4):
        assert ask(signed_in, RARE).status_code == 200
    assert ask(signed_in, RARE).status_code == 429


def test_a_refusal_does_not_say_whether_the_allele_is_rare(beacon_world: BeaconWorld) -> None:
    client = Client()
    ask(client, RARE)
    for _ in range(6):
        ask(client, COMMON)  # 16: a common query would still fit, a rare one would not

    assert ask(client, COMMON).status_code == 429  # refused before looking anything up
    assert ask(client, RARE).status_code == 429


def test_every_query_is_audited(beacon_world: BeaconWorld, researcher: User) -> None:
    ask(Client(REMOTE_ADDR="192.0.2.9"), COMMON)
    ask(signed_in_client(researcher), {**RARE, "requestedGranularity": "count"})

    anonymous, signed = AuditEvent.objects.filter(action="beacon.query").order_by("pk")
    assert anonymous.actor is None
    assert anonymous.after["client"].startswith("ip:")
    assert "192.0.2.9" not in str(anonymous.after)  # a keyed hash, not the address
    assert anonymous.after["query"] == {
        "assemblyId": "GRCh38",
        "referenceName": "1",
        "start": 4999,
        "referenceBases": "A",
        "alternateBases": "T",
        "requestedGranularity": "boolean",
    }
    assert (anonymous.after["exists"], anonymous.after["rare"]) == (True, False)
    assert signed.actor == researcher
    assert signed.after["client"] == f"user:{researcher.pk}"
    assert (signed.after["returned"], signed.after["rare"], signed.after["cost"]) == (
        "boolean",
        True,
        10,
    )
