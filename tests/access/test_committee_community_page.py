"""A community committee sees the use of its members' data, and nothing of others'."""

from __future__ import annotations

from typing import Any

from django.test import Client

from access.models import AccessRequest
from access.services import agreements_accept
from datasets.models import Committee, CommitteeKind, Sample
from portal.models import Role, User
from tests.access.conftest import (
    Cohort,
    complete_draft,
    released_dataset,
    submit_for_review,
)
from tests.conftest import signed_in_client
from tests.factories import CommitteeFactory, UserFactory


def _url(committee: Committee) -> str:
    return f"/access/community/{committee.pk}/"


def _community_request(
    cohort: Cohort, community: Committee, researcher: User, capture: Any
) -> AccessRequest:
    Sample.objects.filter(dataset=cohort.dataset, sample_id="S000").update(community=community)
    request = complete_draft(researcher, cohort.dataset)
    agreements_accept(actor=researcher, request=request)
    return submit_for_review(request, researcher, capture)


def test_community_member_sees_the_use_of_its_members_data(
    cohort: Cohort,
    community: Committee,
    researcher: User,
    agreement: Any,
    steward: User,
    dac: Committee,
    django_capture_on_commit_callbacks: Any,
) -> None:
    used = _community_request(cohort, community, researcher, django_capture_on_commit_callbacks)
    elsewhere = complete_draft(researcher, released_dataset(steward, dac), title="Unrelated study")
    agreements_accept(actor=researcher, request=elsewhere)
    submit_for_review(elsewhere, researcher, django_capture_on_commit_callbacks)
    elder = community.members.get()

    response = signed_in_client(elder).get(_url(community))

    page = response.content.decode()
    assert response.status_code == 200
    assert f"{used.accession}</a>: Variants in heart disease" in page
    assert "We look for DNA changes linked to heart disease." in page
    assert "<dt>Institution</dt><dd>Example University</dd>" in page
    assert "Health, medical or biomedical research" in page
    assert "<dt>Your committee's decision</dt><dd>Waiting for a decision</dd>" in page
    assert "Unrelated study" not in page
    assert elsewhere.accession not in page


def test_member_of_another_community_gets_404(
    cohort: Cohort,
    community: Committee,
    researcher: User,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _community_request(cohort, community, researcher, django_capture_on_commit_callbacks)
    other_chair = UserFactory(email="elder@other.example", role=Role.DAC_CHAIR)
    other = CommitteeFactory(name="Other nation committee", kind=CommitteeKind.COMMUNITY)
    other.members.add(other_chair)

    client = signed_in_client(other_chair)

    assert client.get(_url(community)).status_code == 404
    assert client.get(_url(other)).status_code == 200


def test_dac_member_gets_404(community: Committee, dac_member: User) -> None:
    assert signed_in_client(dac_member).get(_url(community)).status_code == 404


def test_a_dac_is_not_a_community(dac: Committee, dac_member: User) -> None:
    assert signed_in_client(dac_member).get(_url(dac)).status_code == 404


def test_outsider_gets_404(community: Committee, outsider: User) -> None:
    assert signed_in_client(outsider).get(_url(community)).status_code == 404


def test_anonymous_is_sent_to_sign_in(community: Committee) -> None:
    response = Client().get(_url(community))

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
