"""What each person reads through the API: applicants never see votes or consent counts,
committees do; lists by role; grant states by today's date; community use; agreements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from access.models import AccessRequest, Grant
from access.services import (
    coapplicant_answer,
    coapplicant_invite,
    review_decide,
    vote_cast,
)
from portal.models import Role, User
from tests.access.api_support import API, api_client, refusal
from tests.access.conftest import link_sample, submit_for_review
from tests.factories import UserFactory


def url(request: AccessRequest, tail: str = "") -> str:
    return f"{API}/requests/{request.accession}/{tail}"


def _approved(request: AccessRequest, chair: User, member: User) -> AccessRequest:
    review = request.reviews.get()
    vote_cast(actor=member, review=review, choice="approve", rationale="Sound design.")
    vote_cast(actor=chair, review=review, choice="approve", rationale="Agreed.")
    review_decide(actor=chair, review=review, decision="approved")
    request.refresh_from_db()
    return request


def test_api_applicant_never_sees_votes(
    in_review: AccessRequest, researcher: User, dac_member: User
) -> None:
    vote_cast(
        actor=dac_member, review=in_review.reviews.get(), choice="reject", rationale="Too broad."
    )

    applicant = api_client(researcher)
    [summary] = applicant.get(url(in_review)).json()["reviews"]
    assert set(summary) == {
        "id",
        "committee",
        "committee_id",
        "kind",
        "review_round",
        "decision",
        "decided_at",
        "comment",
        "grant_end",
        "conditions",
    }
    [panel] = applicant.get(url(in_review, "reviews/")).json()
    assert "votes" not in panel["review"]
    assert (panel["my_vote"], panel["can_vote"], panel["can_decide"], panel["is_member"]) == (
        None,
        False,
        False,
        False,
    )
    kinds = [e["kind"] for e in applicant.get(url(in_review, "timeline/")).json()]
    assert kinds == ["created", "agreement_accepted", "submitted", "under_review"]

    member = api_client(dac_member)
    [summary] = member.get(url(in_review)).json()["reviews"]
    assert [(v["member"]["email"], v["choice"], v["rationale"]) for v in summary["votes"]] == [
        ("member@example.org", "reject", "Too broad.")
    ]
    [panel] = member.get(url(in_review, "reviews/")).json()
    assert panel["my_vote"]["choice"] == "reject"
    assert (panel["can_vote"], panel["can_decide"]) == (True, False)
    events = member.get(url(in_review, "timeline/")).json()
    assert [(e["kind"], e["internal"]) for e in events][-1] == ("vote", True)


def test_api_match_gives_consent_counts_to_the_committee_only(
    in_review: AccessRequest, researcher: User, dac_member: User, cohort: Any
) -> None:
    [mine] = api_client(researcher).get(url(in_review, "match/")).json()
    assert mine["dataset"]["accession"] == cohort.dataset.accession
    assert mine["outcome"] == "approve"
    assert mine["consent"] is None

    [theirs] = api_client(dac_member).get(url(in_review, "match/")).json()
    assert theirs["outcome"] == "approve"
    assert theirs["consent"] == {
        "consenting": 6,
        "consenting_display": "6",
        "excluded": [{"reason": "consent does not cover this purpose", "count": "fewer than 5"}],
    }


def test_api_request_lists_by_role(
    in_review: AccessRequest, researcher: User, steward: User, dac_member: User
) -> None:
    mine = api_client(researcher).get(f"{API}/requests/").json()
    assert (mine["count"], mine["counts"], mine["waiting_for_me"]) == (
        1,
        {"under_review": 1},
        None,
    )
    assert [r["accession"] for r in mine["results"]] == [in_review.accession]

    everything = api_client(steward).get(f"{API}/requests/", {"role": "all"}).json()
    assert [r["accession"] for r in everything["results"]] == [in_review.accession]
    assert refusal(api_client(researcher).get(f"{API}/requests/", {"role": "all"})) == (
        403,
        "Only data stewards list every request.",
    )

    queue = api_client(dac_member).get(
        f"{API}/requests/", {"role": "committee", "state": "approved"}
    )
    assert (queue.json()["count"], queue.json()["counts"]) == (0, {"under_review": 1})
    bad = api_client(dac_member).get(f"{API}/requests/", {"role": "boss", "state": "done"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"role", "state"}


def test_api_coapplicant_lists_the_request_they_joined(
    draft: AccessRequest, researcher: User
) -> None:
    cora = UserFactory(email="cora@example.org", role=Role.RESEARCHER)
    invitation = coapplicant_invite(actor=researcher, request=draft, email=cora.email)
    coapplicant_answer(actor=cora, invitation=invitation, accept=True, accept_agreements=True)

    listed = api_client(cora).get(f"{API}/requests/").json()
    page = api_client(cora).get(url(draft)).json()

    assert [r["accession"] for r in listed["results"]] == [draft.accession]
    assert (page["rights"]["edit"], page["rights"]["act_as_applicant"]) == (False, False)
    assert page["submission_problems"] is None
    assert refusal(api_client(cora).patch(url(draft), {"title": "Mine"}, format="json")) == (
        403,
        "Only the applicant can change this request.",
    )


def test_api_draft_saves_partial_changes(draft: AccessRequest, researcher: User) -> None:
    response = api_client(researcher).patch(
        url(draft), {"title": "Rare variants", "countries": ["gb", "FR"]}, format="json"
    )

    assert response.status_code == 200, response.content
    saved = response.json()["request"]
    assert (saved["title"], saved["countries"], saved["primary_use"]) == (
        "Rare variants",
        ["FR", "GB"],
        "HMB",
    )


def test_api_grant_state_is_computed_by_date(
    in_review: AccessRequest, researcher: User, dac_chair: User, dac_member: User
) -> None:
    _approved(in_review, dac_chair, dac_member)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Grant.objects.filter(request=in_review).update(starts_on=yesterday, ends_on=yesterday)
    client = api_client(researcher)

    expired = client.get(f"{API}/grants/", {"state": "expired"}).json()
    active = client.get(f"{API}/grants/", {"state": "active"}).json()

    assert [(g["state"], g["ends_on"]) for g in expired["results"]] == [
        ("expired", yesterday.isoformat())
    ]
    assert active["count"] == 0


def test_api_renewal_is_a_new_draft_linked_to_the_old_request(
    in_review: AccessRequest, researcher: User, dac_chair: User, dac_member: User
) -> None:
    _approved(in_review, dac_chair, dac_member)

    response = api_client(researcher).post(url(in_review, "renew/"))

    assert response.status_code == 201, response.content
    renewal = response.json()["request"]
    assert (renewal["status"], renewal["renewal_of"], renewal["title"]) == (
        "draft",
        in_review.accession,
        "Variants in heart disease",
    )
    assert renewal["accession"] != in_review.accession


def test_api_community_committee_sees_the_use_of_its_members_data(
    draft: AccessRequest,
    researcher: User,
    cohort: Any,
    community: Any,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    link_sample(cohort.dataset, cohort.consenting[0], "C001", community=community)
    submit_for_review(draft, researcher, django_capture_on_commit_callbacks)
    elder = community.members.get()

    response = api_client(elder).get(f"{API}/communities/{community.pk}/uses/")

    assert response.status_code == 200
    assert [
        (u["accession"], u["institution"], u["primary_use"], u["community_decision"])
        for u in response.json()
    ] == [(draft.accession, "Example University", "HMB", "pending")]
    assert api_client(dac_member).get(f"{API}/communities/{community.pk}/uses/").status_code == 404


def test_api_committee_agreements_are_published_by_stewards(
    agreement: Any, dac: Any, steward: User, dac_member: User, community: Any
) -> None:
    text = "Version two: keep the data secure, report breaches within 24 hours."
    path = f"{API}/committees/{dac.pk}/agreements/"

    published = api_client(steward).post(path, {"text": text}, format="json")

    assert published.status_code == 201, published.content
    assert (published.json()["version"], published.json()["published_by"]["email"]) == (
        2,
        "steward@example.org",
    )
    versions = api_client(dac_member).get(path).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert refusal(api_client(dac_member).post(path, {"text": text}, format="json")) == (
        403,
        "Only data stewards publish data-access agreements.",
    )
    assert refusal(
        api_client(steward).post(
            f"{API}/committees/{community.pk}/agreements/", {"text": text}, format="json"
        )
    ) == (400, "Agreements belong to data-access committees; a community committee has none.")


def test_api_notifications_marked_read_by_id(in_review: AccessRequest, dac_member: User) -> None:
    client = api_client(dac_member)
    notices = client.get(f"{API}/notifications/").json()
    assert (notices["unread"], [n["unread"] for n in notices["results"]]) == (1, [True])

    read = client.post(
        f"{API}/notifications/read/", {"ids": [notices["results"][0]["id"]]}, format="json"
    )

    assert read.json() == {"marked": 1, "unread": 0}
