"""A withdrawal ends htsget access at once: the slicing URL of a ticket already given is
checked like a download on every request (410 once S000 withdraws), and a new ticket for
S000's BAM is refused (PermissionDenied)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.models import User
from tests.access.delivery_support import World, withdraw
from tests.access.drs_support import drs_client, source_id

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_withdrawal_ends_slicing_and_tickets(delivery_world: World, researcher: User) -> None:
    url = f"/ga4gh/htsget/v1/reads/{source_id(delivery_world.bam_s000)}"
    client = drs_client(researcher)
    assert client.get(url).status_code == 503
    ticket = client.get(url, {"referenceName": "chr1", "start": "0", "end": "1000"})
    slice_url = ticket.json()["htsget"]["urls"][0]["url"].removeprefix("http://testserver")
    assert APIClient().get(slice_url).status_code == 200

    withdraw(delivery_world.cohort.consenting[0])
    after = APIClient().get(slice_url)
    again = client.get(url)

    assert after.status_code == 410
    assert after.content.decode().startswith(
        "Someone whose data this delivery included has since withdrawn or narrowed their consent"
    )
    assert again.status_code == 403
    assert again.json()["htsget"]["error"] == "PermissionDenied"
