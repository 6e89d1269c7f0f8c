"""Every refusal of the issue's "Bad input" list, through the API: its status and the
problem+json `detail` a person reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from access.models import AccessRequest, CoApplicant, RequestStatus
from access.services import (
    access_request_submit,
    coapplicant_invite,
    invitation_token,
    review_decide,
    vote_cast,
)
from portal.models import Role, User
from tests.access.api_support import API, api_client, problem, refusal
from tests.factories import UserFactory

CLOSED = "it can be changed only while it is a draft or returned for changes."


def url(request: AccessRequest, tail: str = "") -> str:
    return f"{API}/requests/{request.accession}/{tail}"


def review_id(request: AccessRequest) -> int:
    return request.reviews.get(review_round=request.review_round).pk


def approve(request: AccessRequest, chair: User, *members: User) -> None:
    review = request.reviews.get(review_round=request.review_round)
    for member in members:
        vote_cast(actor=member, review=review, choice="approve", rationale="Fine.")
    review_decide(actor=chair, review=review, decision="approved")
    request.refresh_from_db()


# --- the applicant's refusals ------------------------------------------------------------------


def test_api_submitting_an_incomplete_request_lists_every_problem_at_once(
    researcher: User,
) -> None:
    client = api_client(researcher)
    created = client.post(f"{API}/requests/", {"title": "Just a title"}, format="json")
    assert created.status_code == 201

    response = client.post(f"{API}/requests/{created.json()['request']['accession']}/submit/")

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "incomplete"
    assert body["errors"] == {
        "lay_summary": ["Give a lay summary."],
        "scientific_abstract": ["Give a scientific abstract."],
        "signing_official_name": ["Give the signing official's name."],
        "signing_official_email": ["Give the signing official's email."],
        "primary_use": ["Choose the primary use of the data."],
        "countries": ["Name the countries where the data will be used."],
        "security_attestation": ["Confirm the data-security attestation."],
        "datasets": ["Choose at least one dataset."],
    }
    assert body["detail"] == " ".join(m for ms in body["errors"].values() for m in ms)


def test_api_invalid_fields_are_refused_together(researcher: User) -> None:
    response = api_client(researcher).post(
        f"{API}/requests/",
        {"primary_use": "XYZ", "countries": ["France"], "signing_official_email": "nope"},
        format="json",
    )

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "signing_official_email": ["“nope” is not an email address."],
        "primary_use": ["“XYZ” is not a primary use: choose GRU, HMB, DS or POA."],
        "countries": ["Countries are two-letter ISO codes (GB, FR…), not: FRANCE."],
    }
    assert AccessRequest.objects.count() == 0


def test_api_unknown_dataset_is_refused(researcher: User) -> None:
    response = api_client(researcher).post(
        f"{API}/requests/", {"datasets": ["CDS999999"], "title": "T"}, format="json"
    )

    assert response.status_code == 400
    assert problem(response)["errors"] == {"datasets": ["No dataset has the accession CDS999999."]}


def test_api_submitting_twice_is_a_conflict(in_review: AccessRequest, researcher: User) -> None:
    response = api_client(researcher).post(url(in_review, "submit/"))

    assert refusal(response) == (409, f"This request is under review: {CLOSED}")


def test_api_researcher_editing_a_submitted_request_is_a_conflict(
    in_review: AccessRequest, researcher: User
) -> None:
    response = api_client(researcher).patch(url(in_review), {"title": "New"}, format="json")

    assert refusal(response) == (409, f"This request is under review: {CLOSED}")
    in_review.refresh_from_db()
    assert in_review.title == "Variants in heart disease"


def test_api_withdrawing_under_review_is_a_conflict(
    in_review: AccessRequest, researcher: User
) -> None:
    response = api_client(researcher).post(url(in_review, "withdraw/"), {}, format="json")

    assert refusal(response) == (
        409,
        "An access request that is under review cannot become withdrawn.",
    )


def test_api_acting_on_a_withdrawn_request_is_a_conflict(
    draft: AccessRequest, researcher: User
) -> None:
    client = api_client(researcher)
    withdrawn = client.post(url(draft, "withdraw/"), {"comment": "Not needed"}, format="json")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["request"]["status"] == "withdrawn"

    assert refusal(client.post(url(draft, "submit/"))) == (
        409,
        f"This request is withdrawn: {CLOSED}",
    )
    assert refusal(client.post(url(draft, "withdraw/"), {}, format="json")) == (
        409,
        "An access request that is withdrawn cannot become withdrawn.",
    )


def test_api_voting_on_a_withdrawn_request_is_a_conflict(
    draft: AccessRequest, researcher: User, dac_member: User
) -> None:
    # Submitted, and withdrawn before the review started (the task never ran).
    access_request_submit(actor=researcher, request=draft)
    draft.refresh_from_db()
    assert api_client(researcher).post(url(draft, "withdraw/")).status_code == 200

    response = api_client(dac_member).put(
        url(draft, f"reviews/{review_id(draft)}/vote/"),
        {"choice": "approve", "rationale": "Fine."},
        format="json",
    )

    assert refusal(response) == (409, "The request is withdrawn: voting is closed.")


def test_api_acting_on_a_rejected_request_is_a_conflict(
    in_review: AccessRequest, researcher: User, dac_chair: User, dac_member: User
) -> None:
    review = in_review.reviews.get()
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=review, choice="reject", rationale="No.")
    review_decide(
        actor=dac_chair, review=review, decision="rejected", justification="Unsafe design."
    )
    client = api_client(researcher)

    assert refusal(client.post(url(in_review, "withdraw/"))) == (
        409,
        "An access request that is rejected cannot become withdrawn.",
    )
    assert refusal(client.post(url(in_review, "renew/"))) == (
        409,
        "Only an approved or expired request can be renewed; this one is rejected.",
    )
    assert refusal(client.patch(url(in_review), {"title": "Again"}, format="json")) == (
        409,
        f"This request is rejected: {CLOSED}",
    )


def test_api_acting_on_a_revoked_request_is_a_conflict(
    in_review: AccessRequest, researcher: User, dac_chair: User, dac_member: User, dac: Any
) -> None:
    approve(in_review, dac_chair, dac_chair, dac_member)
    chair = api_client(dac_chair)
    revoked = chair.post(
        url(in_review, "revoke/"), {"committee": dac.pk, "reason": "Data breach."}, format="json"
    )
    assert revoked.status_code == 200, revoked.content
    assert revoked.json() == {"revoked": 1, "status": "revoked"}

    assert refusal(
        chair.post(url(in_review, "revoke/"), {"committee": dac.pk, "reason": "Again."})
    ) == (409, "The request is revoked: only an approved request's access can be revoked.")
    assert refusal(api_client(researcher).post(url(in_review, "renew/"))) == (
        409,
        "Only an approved or expired request can be renewed; this one is revoked.",
    )
    grants = api_client(researcher).get(f"{API}/grants/").json()["results"]
    assert [(g["state"], g["revoke_reason"]) for g in grants] == [("revoked", "Data breach.")]


def test_api_revoking_needs_a_reason_and_a_chair(
    in_review: AccessRequest, dac_chair: User, dac_member: User, dac: Any
) -> None:
    approve(in_review, dac_chair, dac_chair, dac_member)

    missing = api_client(dac_chair).post(url(in_review, "revoke/"), {"committee": dac.pk})
    assert missing.status_code == 400
    assert problem(missing)["errors"] == {"reason": ["This field is required."]}
    assert refusal(
        api_client(dac_member).post(url(in_review, "revoke/"), {"committee": dac.pk, "reason": "x"})
    ) == (403, "Only a chair of the Test DAC revokes its grants.")


# --- committee refusals ------------------------------------------------------------------------


def test_api_approving_a_draft_is_not_found(draft: AccessRequest, dac_chair: User) -> None:
    # A draft is the applicant's own business: the committee cannot even see it.
    response = api_client(dac_chair).post(
        url(draft, "reviews/1/decision/"), {"decision": "approved"}, format="json"
    )

    assert refusal(response) == (404, "No such access request.")


def test_api_voting_after_the_decision_is_a_conflict(
    in_review: AccessRequest, dac_chair: User, dac_member: User, third_member: User
) -> None:
    approve(in_review, dac_chair, dac_chair, dac_member)

    response = api_client(third_member).put(
        url(in_review, f"reviews/{review_id(in_review)}/vote/"),
        {"choice": "reject", "rationale": "Too late?"},
        format="json",
    )

    assert refusal(response) == (
        409,
        "The Test DAC has already decided (approved): voting is closed.",
    )


def test_api_recused_member_voting_is_forbidden(
    in_review: AccessRequest, dac: Any, dac_member: User
) -> None:
    dac.recuse_same_institution = True
    dac.save(update_fields=["recuse_same_institution"])

    response = api_client(dac_member).put(
        url(in_review, f"reviews/{review_id(in_review)}/vote/"),
        {"choice": "approve", "rationale": "Fine."},
        format="json",
    )

    assert refusal(response) == (
        403,
        "You are recused from this review: You are from the applicant's institution "
        "(Example University).",
    )


def test_api_member_of_another_committee_voting_is_not_found(
    in_review: AccessRequest, other_dac_member: User
) -> None:
    response = api_client(other_dac_member).put(
        url(in_review, f"reviews/{review_id(in_review)}/vote/"),
        {"choice": "approve", "rationale": "Fine."},
        format="json",
    )

    assert refusal(response) == (404, "No such access request.")


def test_api_vote_without_rationale_is_invalid(in_review: AccessRequest, dac_member: User) -> None:
    response = api_client(dac_member).put(
        url(in_review, f"reviews/{review_id(in_review)}/vote/"), {"choice": "maybe"}
    )

    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "choice": ['"maybe" is not a valid choice.'],
        "rationale": ["This field is required."],
    }


def test_api_deciding_without_quorum_is_a_conflict(
    in_review: AccessRequest, dac_chair: User
) -> None:
    response = api_client(dac_chair).post(
        url(in_review, f"reviews/{review_id(in_review)}/decision/"),
        {"decision": "approved"},
        format="json",
    )

    assert refusal(response) == (409, "No quorum yet: 0 of 2 needed votes (3 members may vote).")


def test_api_a_member_who_is_not_chair_cannot_decide(
    in_review: AccessRequest, dac_member: User
) -> None:
    response = api_client(dac_member).post(
        url(in_review, f"reviews/{review_id(in_review)}/decision/"),
        {"decision": "approved"},
        format="json",
    )

    assert refusal(response) == (403, "Only a chair of the Test DAC records its decision.")


def _voted(request: AccessRequest, *members: User) -> int:
    review = request.reviews.get(review_round=request.review_round)
    for member in members:
        vote_cast(actor=member, review=review, choice="approve", rationale="Fine.")
    return review.pk


def test_api_approval_ending_in_the_past_is_invalid(
    in_review: AccessRequest, dac_chair: User, dac_member: User
) -> None:
    review = _voted(in_review, dac_chair, dac_member)
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    response = api_client(dac_chair).post(
        url(in_review, f"reviews/{review}/decision/"),
        {"decision": "approved", "grant_end": yesterday.isoformat()},
        format="json",
    )

    assert refusal(response) == (400, f"The end of access ({yesterday}) is in the past.")
    in_review.refresh_from_db()
    assert in_review.status == RequestStatus.UNDER_REVIEW


def test_api_approval_ending_past_the_time_limit_is_invalid(
    in_review: AccessRequest, cohort: Any, dac_chair: User, dac_member: User
) -> None:
    limit = timezone.localdate() + dt.timedelta(days=30)
    cohort.dataset.modifiers = ["TS"]
    cohort.dataset.time_limit = limit
    cohort.dataset.save(update_fields=["modifiers", "time_limit"])
    review = _voted(in_review, dac_chair, dac_member)
    end = limit + dt.timedelta(days=1)

    response = api_client(dac_chair).post(
        url(in_review, f"reviews/{review}/decision/"),
        {"decision": "approved", "grant_end": end.isoformat(), "justification": "Reviewed."},
        format="json",
    )

    assert refusal(response) == (
        400,
        f"The end of access ({end}) is after {cohort.dataset.accession}'s time limit (TS) of "
        f"{limit}: choose {limit} or earlier.",
    )


# --- invitations --------------------------------------------------------------------------------


@pytest.fixture
def invitation(draft: AccessRequest, researcher: User) -> CoApplicant:
    return coapplicant_invite(
        actor=researcher, request=draft, email="cora@example.org", full_name="Cora"
    )


@pytest.fixture
def cora(db: None) -> User:
    return UserFactory(email="cora@example.org", role=Role.RESEARCHER)


def test_api_accepting_an_invitation_twice_is_a_conflict(
    invitation: CoApplicant, cora: User
) -> None:
    client = api_client(cora)
    path = f"{API}/invitations/{invitation_token(invitation)}/accept/"
    assert client.post(path, {"accept_agreements": True}, format="json").status_code == 200

    response = client.post(path, {"accept_agreements": True}, format="json")

    assert refusal(response) == (
        409,
        "This invitation was already answered or withdrawn (accepted).",
    )


def test_api_accepting_an_expired_invitation_is_a_conflict(
    invitation: CoApplicant, cora: User
) -> None:
    CoApplicant.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )

    response = api_client(cora).post(
        f"{API}/invitations/{invitation_token(invitation)}/accept/",
        {"accept_agreements": True},
        format="json",
    )

    assert refusal(response) == (
        409,
        "This invitation has expired. Ask the applicant to invite you again.",
    )


def test_api_accepting_without_the_agreement_is_invalid(
    invitation: CoApplicant, cora: User
) -> None:
    response = api_client(cora).post(f"{API}/invitations/{invitation_token(invitation)}/accept/")

    assert refusal(response) == (400, "To join, accept the data-access agreement of: Test DAC.")


def test_api_invitation_for_another_account_is_forbidden(
    invitation: CoApplicant, outsider: User
) -> None:
    response = api_client(outsider).post(
        f"{API}/invitations/{invitation_token(invitation)}/decline/"
    )

    assert refusal(response) == (
        403,
        "This invitation was sent to cora@example.org. Sign in with that address.",
    )


def test_api_tampered_invitation_link_is_invalid(cora: User) -> None:
    response = api_client(cora).post(f"{API}/invitations/42:forged/accept/")

    assert refusal(response) == (
        400,
        "This invitation link is not valid. Check that you copied the whole link.",
    )


def test_api_inviting_the_same_person_twice_is_a_conflict(
    invitation: CoApplicant, draft: AccessRequest, researcher: User
) -> None:
    response = api_client(researcher).post(
        url(draft, "coapplicants/"), {"email": "cora@example.org"}, format="json"
    )

    assert refusal(response) == (
        409,
        "cora@example.org is already invited (waiting for an answer).",
    )


def test_api_cancelled_invitation_cannot_be_cancelled_again(
    invitation: CoApplicant, draft: AccessRequest, researcher: User
) -> None:
    client = api_client(researcher)
    first = client.delete(url(draft, f"coapplicants/{invitation.pk}/"))
    assert (first.status_code, first.json()["status"]) == (200, "cancelled")

    assert refusal(client.delete(url(draft, f"coapplicants/{invitation.pk}/"))) == (
        409,
        "The invitation to cora@example.org is no longer open.",
    )
