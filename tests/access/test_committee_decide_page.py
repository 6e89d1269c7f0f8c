"""The chair's decision from the review page: quorum, justification, grants."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.test import Client
from django.utils import timezone

from access.models import AccessRequest, Grant, RequestStatus
from access.services import vote_cast
from portal.models import User
from tests.conftest import signed_in_client


def _url(request: AccessRequest) -> str:
    return f"/access/review/{request.accession}/{request.reviews.get().pk}/decide/"


def _decision(review_id: int, decision: str, **fields: str) -> dict[str, str]:
    return {
        f"r{review_id}-decision": decision,
        **{f"r{review_id}-{k}": v for k, v in fields.items()},
    }


def _two_votes(request: AccessRequest, chair: User, member: User, choice: str = "approve") -> None:
    review = request.reviews.get()
    vote_cast(actor=member, review=review, choice=choice, rationale="Fine.")
    vote_cast(actor=chair, review=review, choice=choice, rationale="Fine too.")


def test_decision_form_shows_the_default_end_of_access(
    in_review: AccessRequest, dac_chair: User
) -> None:
    end = timezone.localdate() + dt.timedelta(days=settings.CUSTODIAN_GRANT_DAYS)

    page = signed_in_client(dac_chair).get(f"/access/review/{in_review.accession}/")

    assert f'value="{end.isoformat()}"' in page.content.decode()
    assert "requires a written justification" in page.content.decode()


def test_deciding_without_quorum_is_refused(in_review: AccessRequest, dac_chair: User) -> None:
    review = in_review.reviews.get()

    response = signed_in_client(dac_chair).post(_url(in_review), _decision(review.pk, "approved"))

    assert response.status_code == 409
    assert "No quorum yet: 0 of 2 needed votes (3 members may vote)." in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == RequestStatus.UNDER_REVIEW


def test_departing_from_the_match_needs_a_justification(
    in_review: AccessRequest, dac_chair: User, dac_member: User
) -> None:
    _two_votes(in_review, dac_chair, dac_member, "reject")
    review = in_review.reviews.get()
    client = signed_in_client(dac_chair)

    refused = client.post(_url(in_review), _decision(review.pk, "rejected"))
    accepted = client.post(
        _url(in_review),
        _decision(review.pk, "rejected", justification="The study design cannot answer it."),
    )

    assert refused.status_code == 400
    assert (
        "The automated match says APPROVE: explain in writing why the committee decides "
        "otherwise." in refused.content.decode()
    )
    assert accepted.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == RequestStatus.REJECTED


def test_approval_creates_grants_shown_on_the_request(
    in_review: AccessRequest, dac_chair: User, dac_member: User, cohort
) -> None:
    _two_votes(in_review, dac_chair, dac_member)
    review = in_review.reviews.get()
    end = timezone.localdate() + dt.timedelta(days=90)
    client = signed_in_client(dac_chair)

    response = client.post(
        _url(in_review),
        _decision(review.pk, "approved", grant_end=end.isoformat(), conditions="No re-sharing."),
    )

    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == RequestStatus.APPROVED
    assert list(Grant.objects.values_list("grantee__email", "ends_on", "conditions")) == [
        ("researcher@example.org", end, "No re-sharing.")
    ]
    page = client.get(response["Location"]).content.decode()
    assert "The Test DAC&#x27;s decision is recorded: approved." in page
    assert '<h2 id="grants-heading">Grants</h2>' in page
    assert f"<td>{cohort.dataset.accession}</td>" in page
    assert '<span class="status status-active">Active</span>' in page


def test_a_member_who_is_not_chair_cannot_decide(
    in_review: AccessRequest, dac_chair: User, dac_member: User
) -> None:
    _two_votes(in_review, dac_chair, dac_member)
    review = in_review.reviews.get()

    client = signed_in_client(dac_member)

    page = client.get(f"/access/review/{in_review.accession}/")
    response = client.post(_url(in_review), _decision(review.pk, "approved"))

    assert "Record the decision" not in page.content.decode()
    assert response.status_code == 403
    assert "Only a chair of the Test DAC records its decision." in response.content.decode()


def test_outsider_gets_404(in_review: AccessRequest, outsider: User) -> None:
    review = in_review.reviews.get()

    response = signed_in_client(outsider).post(_url(in_review), _decision(review.pk, "approved"))

    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(in_review: AccessRequest) -> None:
    response = Client().post(_url(in_review), {})

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
