"""Voting from the review page: cast, change, refused when recused, another request's review."""

from __future__ import annotations

from typing import Any

from django.test import Client

from access.models import AccessRequest, Vote
from access.services import agreements_accept
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import Cohort, complete_draft, submit_for_review
from tests.conftest import signed_in_client


def _url(request: AccessRequest) -> str:
    return f"/access/review/{request.accession}/{request.reviews.get().pk}/vote/"


def _vote(review_id: int, choice: str, rationale: str) -> dict[str, str]:
    return {f"r{review_id}-choice": choice, f"r{review_id}-rationale": rationale}


def test_member_votes_and_changes_the_vote(in_review: AccessRequest, dac_member: User) -> None:
    client = signed_in_client(dac_member)
    review = in_review.reviews.get()

    first = client.post(_url(in_review), _vote(review.pk, "approve", "Well designed."))
    second = client.post(_url(in_review), _vote(review.pk, "reject", "On reflection, too broad."))

    assert first.status_code == 302
    assert first["Location"] == f"/access/review/{in_review.accession}/"
    assert second.status_code == 302
    assert list(Vote.objects.filter(review=review).values_list("member__email", "choice")) == [
        ("member@example.org", "reject")
    ]
    page = client.get(first["Location"]).content.decode()
    assert "Your vote on " + in_review.accession + " is recorded; you can change it." in page
    assert "<h4>Change your vote</h4>" in page
    assert "You voted reject on" in page
    assert "Changed the vote to reject: On reflection, too broad." in page


def test_vote_without_a_rationale_is_refused(in_review: AccessRequest, dac_member: User) -> None:
    review = in_review.reviews.get()

    response = signed_in_client(dac_member).post(_url(in_review), _vote(review.pk, "approve", ""))

    assert response.status_code == 400
    assert "Choose approve or reject and give your rationale." in response.content.decode()
    assert not Vote.objects.exists()


def test_recused_member_sees_why_and_cannot_vote(
    in_review: AccessRequest, dac: Committee, dac_member: User
) -> None:
    dac.recuse_same_institution = True
    dac.save()
    dac_member.institution = "Example University"
    dac_member.save()
    client = signed_in_client(dac_member)
    review = in_review.reviews.get()

    page = client.get(f"/access/review/{in_review.accession}/").content.decode()
    response = client.post(_url(in_review), _vote(review.pk, "approve", "Looks fine."))

    assert (
        "You are recused: You are from the applicant&#x27;s institution (Example University)."
        in page
    )
    assert "Cast my vote" not in page
    assert response.status_code == 403
    assert "You are recused from this review" in response.content.decode()
    assert not Vote.objects.exists()


def test_review_of_another_request_is_not_found(
    in_review: AccessRequest,
    researcher: User,
    cohort: Cohort,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = complete_draft(researcher, cohort.dataset, title="Another study")
    agreements_accept(actor=researcher, request=other)
    submit_for_review(other, researcher, django_capture_on_commit_callbacks)
    other_review = other.reviews.get()

    response = signed_in_client(dac_member).post(
        f"/access/review/{in_review.accession}/{other_review.pk}/vote/",
        _vote(other_review.pk, "approve", "Fine."),
    )

    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_member_of_another_committee_gets_404(
    in_review: AccessRequest, other_dac_member: User
) -> None:
    review = in_review.reviews.get()

    response = signed_in_client(other_dac_member).post(
        _url(in_review), _vote(review.pk, "approve", "Fine.")
    )

    assert response.status_code == 404


def test_get_is_not_allowed(in_review: AccessRequest, dac_member: User) -> None:
    assert signed_in_client(dac_member).get(_url(in_review)).status_code == 405


def test_outsider_gets_404(in_review: AccessRequest, outsider: User) -> None:
    review = in_review.reviews.get()

    response = signed_in_client(outsider).post(_url(in_review), _vote(review.pk, "approve", "x"))

    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(in_review: AccessRequest) -> None:
    response = Client().post(_url(in_review), {})

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
