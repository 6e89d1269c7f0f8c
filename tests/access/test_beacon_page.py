"""The beacon's query form in the catalogue: the same tiers, budgets and audit as the API."""

from __future__ import annotations

from typing import Any

from django.test import Client

from portal.models import AuditEvent, User
from tests.access.beacon_support import BeaconWorld
from tests.access.conftest import complete_draft
from tests.conftest import signed_in_client

URL = "/access/beacon/"


def _ask(client: Client, **fields: Any) -> Any:
    data = {
        "assembly": "GRCh38",
        "chromosome": "1",
        "kind": "allele",
        "granularity": "boolean",
        **fields,
    }
    return client.post(URL, data)


def test_anyone_sees_the_form_linked_from_the_catalogue(db: None) -> None:
    assert 'href="/access/beacon/"' in Client().get("/datasets/").content.decode()
    html = Client().get(URL).content.decode()
    assert "You are not signed in: you are answered as the public" in html
    assert '<label for="id_position">Position (first base, 1-based)' in html


def test_a_hit_says_yes_and_how_to_apply(beacon_world: BeaconWorld) -> None:
    accession = beacon_world.cohort.dataset.accession

    response = _ask(Client(), position=2000, reference="C", alternate="T")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Yes.</strong>" in html
    assert f'href="/access/requests/new/?dataset={accession}"' in html
    assert "Answered at the public tier." in html
    assert AuditEvent.objects.filter(action="beacon.query").count() == 1


def test_a_refusing_carrier_gives_no(beacon_world: BeaconWorld) -> None:
    html = _ask(Client(), position=1000, reference="A", alternate="G").content.decode()

    assert "<strong>No.</strong>" in html


def test_counts_are_ranges_for_the_public_and_exact_for_a_declared_purpose(
    beacon_world: BeaconWorld, researcher: User
) -> None:
    fields = {"position": 6000, "reference": "C", "alternate": "G", "granularity": "count"}
    public = _ask(Client(), **fields).content.decode()
    assert "<dt>Participants carrying them</dt><dd>1-4</dd>" in public

    complete_draft(researcher, beacon_world.cohort.dataset)
    registered = _ask(signed_in_client(researcher), **fields).content.decode()
    assert "<dt>Participants carrying them</dt><dd>2</dd>" in registered
    assert "Answered at the registered tier." in registered


def test_a_region_query(beacon_world: BeaconWorld) -> None:
    html = _ask(
        Client(), kind="range", position=1, end=10_000, granularity="count"
    ).content.decode()

    assert "<dt>Alleles found</dt><dd>5</dd>" in html
    assert "<dt>Participants carrying them</dt><dd>6</dd>" in html


def test_bad_input_is_explained_in_the_page(beacon_world: BeaconWorld) -> None:
    missing = _ask(Client(), position=2000, reference="C")
    assert missing.status_code == 400
    assert "Give referenceBases and alternateBases" in missing.content.decode()

    wide = _ask(Client(), kind="range", position=1, end=2_000_001)
    assert wide.status_code == 400
    assert "ranges of at most 1,000,000 bases" in wide.content.decode()

    unknown = _ask(Client(), chromosome="chr99", position=5, reference="A", alternate="C")
    assert unknown.status_code == 400
    assert "Unknown referenceName" in unknown.content.decode()

    no_position = _ask(Client(), reference="A", alternate="C")
    assert no_position.status_code == 400
    assert "This field is required." in no_position.content.decode()


def test_the_budget_is_shared_with_the_api(beacon_world: BeaconWorld, settings: Any) -> None:
    settings.BEACON_ANONYMOUS_DAILY_BUDGET = 31  # one rare question (30), then 1 left
    client = Client(REMOTE_ADDR="198.51.100.3")
    assert _ask(client, position=2000, reference="C", alternate="T").status_code == 200

    refused = _ask(client, position=2000, reference="C", alternate="T")

    assert refused.status_code == 429
    assert "used today&#x27;s beacon query budget" in refused.content.decode()
    assert client.get("/ga4gh/beacon/v2/g_variants").status_code == 400  # parsed first
