"""A chair revokes access from the review page, with a reason the researchers see."""

from __future__ import annotations

from django.test import Client

from access.models import AccessRequest, Grant, RequestStatus
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import approve_by_votes
from tests.conftest import signed_in_client


def _url(request: AccessRequest, committee: Committee) -> str:
    return f"/access/review/{request.accession}/revoke/{committee.pk}/"


def test_chair_revokes_with_a_reason(
    in_review: AccessRequest, dac: Committee, dac_chair: User, dac_member: User
) -> None:
    approved = approve_by_votes(in_review, dac_chair, dac_member)
    client = signed_in_client(dac_chair)

    page = client.get(f"/access/review/{approved.accession}/").content.decode()
    response = client.post(_url(approved, dac), {f"c{dac.pk}-reason": "Data shared outside."})

    assert "Revoke access" in page
    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.status == RequestStatus.REVOKED
    assert list(Grant.objects.values_list("revoke_reason", flat=True)) == ["Data shared outside."]
    after = client.get(response["Location"]).content.decode()
    assert "1 grant(s) revoked." in after
    assert '<span class="status status-revoked">Revoked</span>: Data shared outside.' in after


def test_revocation_without_a_reason_is_refused(
    in_review: AccessRequest, dac: Committee, dac_chair: User, dac_member: User
) -> None:
    approved = approve_by_votes(in_review, dac_chair, dac_member)

    response = signed_in_client(dac_chair).post(_url(approved, dac), {f"c{dac.pk}-reason": ""})

    assert response.status_code == 400
    assert "Give the reason for revoking access" in response.content.decode()
    assert Grant.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_member_who_is_not_chair_is_refused(
    in_review: AccessRequest, dac: Committee, dac_chair: User, dac_member: User
) -> None:
    approved = approve_by_votes(in_review, dac_chair, dac_member)

    response = signed_in_client(dac_member).post(_url(approved, dac), {f"c{dac.pk}-reason": "x"})

    assert response.status_code == 403
    assert "Only a chair of the Test DAC revokes its grants." in response.content.decode()


def test_committee_not_reviewing_the_request_is_not_found(
    in_review: AccessRequest, dac_chair: User, dac_member: User, other_dac_member: User
) -> None:
    approved = approve_by_votes(in_review, dac_chair, dac_member)
    other = Committee.objects.get(name="Other DAC")

    response = signed_in_client(dac_chair).post(_url(approved, other), {f"c{other.pk}-reason": "x"})

    assert response.status_code == 404


def test_outsider_gets_404(in_review: AccessRequest, dac: Committee, outsider: User) -> None:
    response = signed_in_client(outsider).post(_url(in_review, dac), {f"c{dac.pk}-reason": "x"})

    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(in_review: AccessRequest, dac: Committee) -> None:
    response = Client().post(_url(in_review, dac), {})

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
