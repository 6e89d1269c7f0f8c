"""A participant's withdrawal takes effect on the next request to every link whose delivery
included them; a fresh delivery for the same grant leaves them out."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from access.models import Delivery, DeliveryParticipant, DeliveryStatus, SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request
from portal.audit import state_version
from portal.ledger import ledger_seal
from portal.models import User
from tests.access.delivery_support import (
    Sources,
    World,
    add_file,
    withdraw,
)
from tests.conftest import wait_for


def _deliver(delivery_world: World, researcher: User, capture: Any, ids: list[int]) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(actor=researcher, grant=delivery_world.grant, datafile_ids=ids)
    delivery.refresh_from_db()
    return delivery


def _url(delivery: Delivery, name: str) -> str:
    return link_url(
        SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__name=name)
    )


def _included(delivery: Delivery) -> set[int]:
    return set(
        DeliveryParticipant.objects.filter(delivery=delivery).values_list(
            "participant_id", flat=True
        )
    )


def test_a_withdrawal_stops_the_links_and_a_fresh_delivery_leaves_them_out(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    django_capture_on_commit_callbacks: Any,
) -> None:
    s001 = add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        sources.bam_s001,
        "reads/S001.bam",
        ["S001"],
    )
    first_person, second_person = delivery_world.cohort.consenting[:2]
    ids = [delivery_world.bam_s000.pk, s001.pk]
    first = _deliver(delivery_world, researcher, django_capture_on_commit_callbacks, ids)
    url = _url(first, "S000.bam")
    assert _included(first) == {first_person.pk, second_person.pk}
    assert Client().head(url).status_code == 200

    withdraw(second_person)

    # S000's file too: the delivery's sample set included the participant who withdrew.
    response = Client().get(url)
    assert response.status_code == 410
    assert response.content.decode() == (
        "Someone whose data this delivery included has since withdrawn or narrowed their "
        "consent, so its links no longer work. You can ask for a fresh delivery, which holds "
        "only the data of participants who consent now."
    )
    fresh = _deliver(delivery_world, researcher, django_capture_on_commit_callbacks, ids)
    assert fresh.status == DeliveryStatus.READY
    assert _included(fresh) == {first_person.pk}
    assert fresh.excluded_files == 1
    assert list(
        SignedLink.objects.filter(delivery_file__delivery=fresh).values_list(
            "delivery_file__name", flat=True
        )
    ) == ["S000.bam", "S000.bam.bai"]
    assert Client().head(_url(fresh, "S000.bam")).status_code == 200


def test_a_withdrawal_of_someone_not_included_changes_nothing(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _deliver(
        delivery_world, researcher, django_capture_on_commit_callbacks, [delivery_world.bam_s000.pk]
    )
    url = _url(delivery, "S000.bam")

    withdraw(delivery_world.cohort.consenting[3])

    assert Client().head(url).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_consent_query_runs_only_after_a_write_and_once_per_write(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _deliver(
        delivery_world, researcher, django_capture_on_commit_callbacks, [delivery_world.bam_s000.pk]
    )
    url = _url(delivery, "S000.bam")

    # Settled by the sealer, the state version is the newest entry alone: it stays put while
    # other databases on the same server commit (unsettled, it carries the snapshot, which
    # moves with every commit anywhere on the server).
    def settled() -> bool:
        ledger_seal()
        return "@" not in state_version()

    assert wait_for(settled, timeout=30)
    cache.clear()
    client = Client()

    def consent_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.head(url).status_code == 200
        return sum("access_deliveryparticipant" in q["sql"] for q in queries.captured_queries)

    first = consent_queries()  # the links' audit entries moved the head after the stamp
    again = consent_queries()
    withdraw(
        delivery_world.cohort.consenting[3]
    )  # someone not included: the head moves all the same
    after_write = consent_queries()

    assert (first, again, after_write) == (1, 0, 1)
