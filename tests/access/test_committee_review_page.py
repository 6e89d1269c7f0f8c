"""The review page: the application, the match with its reasons, consented counts with the
exclusions, votes for the committee only, and who may open it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from access.models import AccessRequest
from access.services import agreements_accept, vote_cast
from consent.models import ConsentVersion
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import (
    complete_draft,
    link_sample,
    participant_with,
    released_dataset,
    submit_for_review,
)
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES


def _url(request: AccessRequest) -> str:
    return f"/access/review/{request.accession}/"


def test_member_sees_the_application(in_review: AccessRequest, dac_member: User) -> None:
    page = signed_in_client(dac_member).get(_url(in_review)).content.decode()

    assert f"<h1>{in_review.accession}: Variants in heart disease</h1>" in page
    assert "We look for DNA changes linked to heart disease." in page
    assert "A case-control association study of rare coding variants." in page
    assert "<dt>Primary use</dt><dd>Health, medical or biomedical research (HMB)</dd>" in page
    assert "<dt>Countries of use</dt><dd>GB</dd>" in page
    assert "<dt>Institution</dt><dd>Example University</dd>" in page
    assert "Sigrid Official (official@example.org)" in page
    assert "Riley Researcher accepted the Test DAC agreement, version 1" in page


def test_match_reasons_and_consented_counts_with_exclusions(
    in_review: AccessRequest, dac_member: User
) -> None:
    page = signed_in_client(dac_member).get(_url(in_review)).content.decode()

    assert 'Match: <span class="code">APPROVE</span>' in page
    assert (
        "Health, medical or biomedical research is permitted: the data carry GRU "
        "(general research use)." in page
    )
    # Six consenting of eight; the two refusals are a small count, so suppressed.
    assert "consent permits this purpose now: <strong>6</strong> of 8." in page
    assert "<li>fewer than 5: consent does not cover this purpose</li>" in page
    assert "Quorum: 0 of 2 needed votes (3 members may vote): not reached yet." in page


def test_small_consenting_counts_are_suppressed(
    researcher: User,
    steward: User,
    dac: Committee,
    agreement: Any,
    consent_version: ConsentVersion,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    small = released_dataset(steward, dac, title="Small cohort")
    for n in range(3):
        link_sample(small, participant_with(consent_version, ALL_YES), f"T{n}")
    request = complete_draft(researcher, small)
    agreements_accept(actor=researcher, request=request)
    submit_for_review(request, researcher, django_capture_on_commit_callbacks)

    page = signed_in_client(dac_member).get(_url(request)).content.decode()

    assert (
        "consent permits this purpose now: <strong>fewer than 5</strong> of 3 "
        "(small counts are not shown)." in page
    )


def test_votes_are_shown_to_members_and_the_page_is_not_the_applicants(
    in_review: AccessRequest, dac_member: User, dac_chair: User, researcher: User
) -> None:
    review = in_review.reviews.get()
    vote_cast(actor=dac_member, review=review, choice="reject", rationale="Too broad a study.")

    member_page = signed_in_client(dac_chair).get(_url(in_review)).content.decode()
    applicant = signed_in_client(researcher)

    assert "<strong>Morgan Member</strong>: Reject" in member_page
    assert member_page.count("Too broad a study.") == 2  # the vote and the timeline
    assert applicant.get(_url(in_review)).status_code == 404
    request_page = applicant.get(f"/access/requests/{in_review.accession}/").content.decode()
    assert "Too broad a study." not in request_page
    assert "Morgan Member" not in request_page


def test_a_community_sees_nothing_of_the_dacs_votes(
    in_review: AccessRequest, dac_member: User, community: Any, cohort: Any
) -> None:
    from access.models import CommitteeReview
    from tests.access.conftest import link_sample

    CommitteeReview.objects.create(request=in_review, committee=community, review_round=1)
    link_sample(cohort.dataset, None, "NATION-X", community=community)
    vote_cast(
        actor=dac_member,
        review=in_review.reviews.get(committee__kind="dac"),
        choice="reject",
        rationale="Too broad a study.",
    )
    elder = community.chairs.get()

    page = signed_in_client(elder).get(_url(in_review)).content.decode()

    assert "Nation governance committee" in page
    assert "Too broad a study." not in page
    assert "Morgan Member" not in page


def test_member_of_another_committee_gets_404(
    in_review: AccessRequest, other_dac_member: User
) -> None:
    assert signed_in_client(other_dac_member).get(_url(in_review)).status_code == 404


def test_outsider_gets_404(in_review: AccessRequest, outsider: User) -> None:
    assert signed_in_client(outsider).get(_url(in_review)).status_code == 404


def test_unknown_request_gets_404(dac_member: User) -> None:
    assert signed_in_client(dac_member).get("/access/review/CAR999999/").status_code == 404


def test_draft_is_not_shown_to_the_committee(draft: AccessRequest, dac_member: User) -> None:
    assert signed_in_client(dac_member).get(_url(draft)).status_code == 404


def test_anonymous_is_sent_to_sign_in(in_review: AccessRequest) -> None:
    response = Client().get(_url(in_review))

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
