"""Co-applicants: invited from the wizard, answering on the invitation page, then submission."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from access.models import (
    AccessRequest,
    AgreementAcceptance,
    CoApplicant,
    InvitationStatus,
    RequestStatus,
)
from access.services import coapplicant_invite, invitation_token
from portal.models import Role, User
from tests.access.conftest import AGREEMENT_TEXT
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(db: None) -> User:
    return UserFactory(
        email="colleague@example.org", full_name="Cleo Colleague", role=Role.RESEARCHER
    )


def _invite(draft: AccessRequest, researcher: User) -> str:
    invitation = coapplicant_invite(
        actor=researcher, request=draft, email="colleague@example.org", full_name="Cleo Colleague"
    )
    return f"/access/invitations/{invitation_token(invitation)}/"


def test_invite_accept_with_agreement_then_submit(
    draft: AccessRequest,
    researcher: User,
    colleague: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    applicant = signed_in_client(researcher)
    response = applicant.post(
        f"/access/requests/{draft.accession}/coapplicants/",
        {"email": "Colleague@Example.org", "full_name": "Cleo Colleague"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{draft.accession}/edit/?step=people"
    people = applicant.get(response["Location"]).content.decode()
    assert "We emailed an invitation to colleague@example.org. They must accept it." in people
    assert "<td>Cleo Colleague (colleague@example.org)</td>" in people
    assert "Waiting for an answer (until" in people
    # Submitting now names the open invitation.
    refused = applicant.post(f"/access/requests/{draft.accession}/submit/")
    assert refused.status_code == 400
    assert (
        "The invitation to colleague@example.org is not answered yet: wait for it, or cancel it."
        in refused.content.decode()
    )

    invitee = signed_in_client(colleague)
    home = invitee.get("/access/researcher/").content.decode()
    url = f"/access/invitations/{invitation_token(CoApplicant.objects.get())}/"
    assert f'<a href="{url}">Variants in heart disease</a>' in home
    page = invitee.get(url).content.decode()
    assert '<h2 id="project-heading">Variants in heart disease</h2>' in page
    assert "<dd>We look for DNA changes linked to heart disease.</dd>" in page
    assert f"<p>{AGREEMENT_TEXT}</p>" in page
    assert '<label class="radio" for="id_accept_agreements">' in page
    assert "I accept the agreements</label>" in page

    without = invitee.post(url, {"answer": "accept"})
    assert without.status_code == 400
    assert (
        '<p class="error" id="id_accept_agreements_error">To join, accept the data-access '
        "agreement of: Test DAC.</p>" in without.content.decode()
    )
    assert CoApplicant.objects.get().status == InvitationStatus.PENDING

    accepted = invitee.post(url, {"answer": "accept", "accept_agreements": "on"})
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/access/requests/{draft.accession}/"
    detail = invitee.get(accepted["Location"]).content.decode()
    assert f"You joined {draft.accession} as a co-applicant." in detail
    assert CoApplicant.objects.get().user == colleague
    assert AgreementAcceptance.objects.filter(request=draft, user=colleague).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        submitted = applicant.post(f"/access/requests/{draft.accession}/submit/")
    assert submitted.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.UNDER_REVIEW


def test_accepting_twice_is_refused(
    draft: AccessRequest, researcher: User, colleague: User
) -> None:
    url = _invite(draft, researcher)
    client = signed_in_client(colleague)
    client.post(url, {"answer": "accept", "accept_agreements": "on"})

    again = client.post(url, {"answer": "accept", "accept_agreements": "on"})

    assert again.status_code == 409
    assert "This invitation was already answered or withdrawn (accepted)." in (
        again.content.decode()
    )
    assert client.get(url).status_code == 409


def test_expired_invitation_is_refused(
    draft: AccessRequest, researcher: User, colleague: User
) -> None:
    url = _invite(draft, researcher)
    CoApplicant.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    client = signed_in_client(colleague)

    page = client.get(url)
    answer = client.post(url, {"answer": "accept", "accept_agreements": "on"})

    for response in (page, answer):
        assert response.status_code == 409
        assert "This invitation has expired. Ask the applicant to invite you again." in (
            response.content.decode()
        )
    assert CoApplicant.objects.get().status == InvitationStatus.PENDING


def test_wrong_account_is_refused_and_sees_nothing_of_the_request(
    draft: AccessRequest, researcher: User, colleague: User, outsider: User
) -> None:
    url = _invite(draft, researcher)
    client = signed_in_client(outsider)

    page = client.get(url)
    answer = client.post(url, {"answer": "accept", "accept_agreements": "on"})

    for response in (page, answer):
        assert response.status_code == 403
        html = response.content.decode()
        assert "This invitation was sent to colleague@example.org. Sign in with that address." in (
            html
        )
        assert "Variants in heart disease" not in html
    assert CoApplicant.objects.get().status == InvitationStatus.PENDING


def test_invalid_token_shows_the_message(colleague: User) -> None:
    response = signed_in_client(colleague).get("/access/invitations/not-a-token/")

    assert response.status_code == 400
    assert "This invitation link is not valid. Check that you copied the whole link." in (
        response.content.decode()
    )


def test_anonymous_is_sent_to_sign_in_and_back(draft: AccessRequest, researcher: User) -> None:
    url = _invite(draft, researcher)

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=/access/invitations/")


def test_decline(draft: AccessRequest, researcher: User, colleague: User) -> None:
    url = _invite(draft, researcher)

    response = signed_in_client(colleague).post(url, {"answer": "decline"})

    assert response.status_code == 302
    assert response["Location"] == "/home/"
    assert CoApplicant.objects.get().status == InvitationStatus.DECLINED


def test_applicant_removes_a_coapplicant(
    draft: AccessRequest, researcher: User, colleague: User
) -> None:
    _invite(draft, researcher)
    invitation = CoApplicant.objects.get()
    client = signed_in_client(researcher)

    response = client.post(
        f"/access/requests/{draft.accession}/coapplicants/{invitation.pk}/cancel/"
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.CANCELLED
    again = client.post(f"/access/requests/{draft.accession}/coapplicants/{invitation.pk}/cancel/")
    assert again.status_code == 409
    assert "The invitation to colleague@example.org is no longer open." in again.content.decode()


def test_inviting_twice_and_a_bad_address_are_shown_on_the_people_step(
    draft: AccessRequest, researcher: User, colleague: User
) -> None:
    _invite(draft, researcher)
    client = signed_in_client(researcher)
    url = f"/access/requests/{draft.accession}/coapplicants/"

    twice = client.post(url, {"email": "colleague@example.org"})
    bad = client.post(url, {"email": "not-an-address"})

    assert twice.status_code == 409
    assert "colleague@example.org is already invited (waiting for an answer)." in (
        twice.content.decode()
    )
    assert bad.status_code == 400
    assert '<p class="error" id="id_email_error">Enter a valid email address.</p>' in (
        bad.content.decode()
    )
