"""Beacon answers count only participants whose current consent permits the asker's tier:
public (anonymous: general research use, no withdrawal), registered (the declared purpose of
the asker's latest request), controlled (an active grant's purpose; records only there)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from access.models import AccessRequest, CommitteeReview
from access.services import review_decide, vote_cast
from consent.models import ConsentVersion, CurrentConsent, WithdrawalLevel
from portal.models import User
from tests.access.beacon_support import BeaconWorld, ask, sequence
from tests.access.conftest import complete_draft
from tests.access.delivery_support import withdraw
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES, give


def exists(client: Client, pos: int, ref: str, alt: str) -> bool:
    response = ask(client, sequence(pos, ref, alt))
    assert response.status_code == 200, response.content
    return response.json()["responseSummary"]["exists"]


@pytest.mark.parametrize(
    ("allele", "expected"),
    [
        ((1000, "A", "G"), False),  # carried only by a participant who refused research
        ((2000, "C", "T"), True),  # one consenting carrier is enough
        ((3000, "G", "A"), False),  # an unlinked sample never counts
        ((4000, "T", "C"), False),  # a community's sample needs the community's approval
        ((7000, "GA", "G"), True),
        ((7100, "T", "TTT"), True),
        ((7100, "T", "TT"), False),  # not in the file
        ((9999, "A", "C"), False),
    ],
)
def test_public_tier_counts_only_consenting_linked_samples(
    beacon_world: BeaconWorld, allele: tuple[int, str, str], expected: bool
) -> None:
    assert exists(Client(), *allele) is expected


def test_a_withdrawal_takes_effect_on_the_next_query(beacon_world: BeaconWorld) -> None:
    client = Client()
    assert exists(client, 2000, "C", "T") is True

    withdraw(beacon_world.cohort.consenting[0])  # S000, the only carrier

    assert exists(client, 2000, "C", "T") is False
    assert exists(client, 5000, "A", "T") is True  # five other carriers still consent


def test_no_further_contact_leaves_public_answers_but_not_a_registered_purpose(
    beacon_world: BeaconWorld, researcher: User
) -> None:
    complete_draft(researcher, beacon_world.cohort.dataset)  # HMB, declared by writing it down
    withdraw(beacon_world.cohort.consenting[0], WithdrawalLevel.NO_CONTACT)

    assert exists(Client(), 2000, "C", "T") is False
    assert exists(signed_in_client(researcher), 2000, "C", "T") is True


def test_registered_tier_uses_the_declared_purpose(
    beacon_world: BeaconWorld, researcher: User, consent_version: ConsentVersion
) -> None:
    # S001 and S002 (the carriers at 6000) now refuse commercial use.
    for person in beacon_world.cohort.consenting[1:3]:
        current = CurrentConsent.objects.get(participant=person)
        give(person, consent_version, {**ALL_YES, "commercial": "no"}, sequence=current.sequence)
    signed_in = signed_in_client(researcher)
    assert exists(signed_in, 6000, "C", "G") is True  # nothing declared yet: the public tier
    assert ask(signed_in, sequence(6000, "C", "G")).json()["info"]["tier"] == "public"

    complete_draft(researcher, beacon_world.cohort.dataset, commercial=True)

    response = ask(signed_in, sequence(6000, "C", "G")).json()
    assert response["info"]["tier"] == "registered"
    assert response["responseSummary"]["exists"] is False
    assert exists(Client(), 6000, "C", "G") is True  # non-commercial general research


def test_counts_below_five_are_a_range_at_the_public_tier_only(
    beacon_world: BeaconWorld, researcher: User
) -> None:
    params = sequence(6000, "C", "G", requestedGranularity="count")

    public = ask(Client(), params).json()
    assert public["meta"]["returnedGranularity"] == "boolean"
    assert public["responseSummary"] == {"exists": True}
    assert public["info"]["numTotalResults"] == "1-4"
    assert public["info"]["carriers"] == "1-4"

    complete_draft(researcher, beacon_world.cohort.dataset)
    registered = ask(signed_in_client(researcher), params).json()
    assert registered["meta"]["returnedGranularity"] == "count"
    assert registered["responseSummary"] == {"exists": True, "numTotalResults": 1}
    assert registered["info"]["carriers"] == 2


def test_public_counts_of_five_or_more_are_exact(beacon_world: BeaconWorld) -> None:
    params = sequence(5000, "A", "T", requestedGranularity="count")
    # One allele (a count below 5), carried by six consenting participants.
    assert ask(Client(), params).json()["info"]["carriers"] == 6
    ranged = {
        "assemblyId": "GRCh38",
        "referenceName": "1",
        "start": 0,
        "end": 10_000,
        "requestedGranularity": "count",
    }
    document = ask(Client(), ranged).json()
    # 2000, 5000, 6000, 7000 and 7100 have consenting carriers; 1000, 3000 and 4000 do not.
    assert document["responseSummary"] == {"exists": True, "numTotalResults": 5}
    assert document["info"]["carriers"] == 6
    deletions = ask(Client(), {**ranged, "variantType": "DEL"}).json()
    assert deletions["meta"]["returnedGranularity"] == "boolean"
    assert deletions["info"]["numTotalResults"] == "1-4"


def _approve_community(request: AccessRequest) -> None:
    review = CommitteeReview.objects.get(request=request, committee__kind="community")
    elder = User.objects.get(email="elder@nation.example")
    vote_cast(actor=elder, review=review, choice="approve", rationale="The nation agrees.")
    review_decide(actor=elder, review=review, decision="approved")


def test_controlled_tier_counts_community_samples_once_the_community_approved(
    beacon_world: BeaconWorld, approved_request: AccessRequest, researcher: User
) -> None:
    client = signed_in_client(researcher)
    document = ask(client, sequence(4000, "T", "C")).json()
    assert document["info"]["datasetTiers"] == {beacon_world.cohort.dataset.accession: "controlled"}
    assert document["responseSummary"]["exists"] is False

    _approve_community(approved_request)

    assert exists(client, 4000, "T", "C") is True
    assert exists(Client(), 4000, "T", "C") is False  # never at the public tier


def test_records_list_the_consenting_carriers_for_grant_holders(
    beacon_world: BeaconWorld, approved_request: Any, researcher: User
) -> None:
    client = signed_in_client(researcher)
    document = ask(client, sequence(7100, "T", "TTT", requestedGranularity="record")).json()

    (result_set,) = document["response"]["resultSets"]
    assert result_set["id"] == beacon_world.cohort.dataset.accession
    (record,) = result_set["results"]
    # S006 carries it too, but refused research use.
    assert record["caseLevelData"] == [{"biosampleId": "S004"}]
    assert record["variation"]["variantType"] == "INS"
    assert record["variation"]["location"]["interval"]["start"]["value"] == 7099


def test_records_are_refused_below_the_controlled_tier(
    beacon_world: BeaconWorld, outsider: User
) -> None:
    params = sequence(5000, "A", "T", requestedGranularity="record")

    anonymous = ask(Client(), params)
    assert anonymous.status_code == 401
    assert "active access grant" in anonymous.json()["error"]["errorMessage"]
    assert ask(signed_in_client(outsider), params).status_code == 403


def test_handovers_point_at_the_dataset_page_and_how_to_apply(beacon_world: BeaconWorld) -> None:
    accession = beacon_world.cohort.dataset.accession
    hit = ask(Client(), sequence(2000, "C", "T")).json()
    assert [h["url"] for h in hit["beaconHandovers"]] == [
        f"http://testserver/datasets/{accession}/",
        f"http://testserver/access/requests/new/?dataset={accession}",
    ]
    miss = ask(Client(), sequence(1000, "A", "G")).json()
    assert miss["beaconHandovers"] == []
