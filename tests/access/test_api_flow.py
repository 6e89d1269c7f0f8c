"""The whole access workflow through the API only: apply with a co-applicant, accept the
agreements, submit, vote, decide, and find the grants."""

from __future__ import annotations

from typing import Any

from access.models import CoApplicant
from access.services import invitation_token
from portal.models import Role, User
from tests.access.api_support import API, api_client
from tests.access.conftest import AGREEMENT_TEXT, COMPLETE
from tests.factories import UserFactory


def test_api_flow_from_draft_to_grants(
    researcher: User,
    dac_member: User,
    dac_chair: User,
    cohort: Any,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    coapplicant = UserFactory(
        email="cora@example.org", full_name="Cora Coapplicant", role=Role.RESEARCHER
    )
    applicant = api_client(researcher)

    created = applicant.post(
        f"{API}/requests/", {**COMPLETE, "datasets": [cohort.dataset.accession]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    accession = body["request"]["accession"]
    assert body["request"]["status"] == "draft"
    assert body["request"]["datasets"] == [cohort.dataset.accession]
    assert body["rights"]["edit"] is True
    assert body["submission_problems"] == {
        "agreements": [
            "Riley Researcher has not accepted the Test DAC data-access agreement (version 1)."
        ]
    }
    url = f"{API}/requests/{accession}"

    invited = applicant.post(
        f"{url}/coapplicants/",
        {"email": "cora@example.org", "full_name": "Cora Coapplicant"},
        format="json",
    )
    assert invited.status_code == 201, invited.content
    assert (invited.json()["email"], invited.json()["status"]) == ("cora@example.org", "pending")

    # The token travels by email; the test takes it where the email does.
    token = invitation_token(CoApplicant.objects.get(email="cora@example.org"))
    accepted = api_client(coapplicant).post(
        f"{API}/invitations/{token}/accept/", {"accept_agreements": True}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["request"], accepted.json()["status"]) == (accession, "accepted")

    agreements = applicant.get(f"{url}/agreements/").json()
    assert agreements["all_accepted"] is False
    [row] = agreements["agreements"]
    assert (row["committee"], row["version"], row["text"]) == ("Test DAC", 1, AGREEMENT_TEXT)
    assert [a["person"]["email"] for a in row["accepted_by"]] == ["cora@example.org"]
    assert [p["email"] for p in row["waiting_for"]] == ["researcher@example.org"]

    signed = applicant.post(f"{url}/agreements/accept/")
    assert signed.status_code == 200, signed.content
    assert signed.json()["all_accepted"] is True

    with django_capture_on_commit_callbacks(execute=True):
        submitted = applicant.post(f"{url}/submit/")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["request"]["status"] == "submitted"
    assert applicant.get(f"{url}/").json()["request"]["status"] == "under_review"

    queue = api_client(dac_member).get(f"{API}/requests/", {"role": "committee"}).json()
    assert (queue["count"], queue["waiting_for_me"], queue["counts"]) == (
        1,
        1,
        {"under_review": 1},
    )
    assert [(r["accession"], r["waiting_for_me"]) for r in queue["results"]] == [(accession, True)]

    [panel] = api_client(dac_member).get(f"{url}/reviews/").json()
    assert (panel["review"]["committee"], panel["can_vote"], panel["can_decide"]) == (
        "Test DAC",
        True,
        False,
    )
    assert panel["quorum"] == {"eligible": 3, "votes": 0, "needed": 2, "reached": False}
    review = panel["review"]["id"]

    for voter, rationale in ((dac_member, "Sound design."), (dac_chair, "Agreed.")):
        vote = api_client(voter).put(
            f"{url}/reviews/{review}/vote/",
            {"choice": "approve", "rationale": rationale},
            format="json",
        )
        assert vote.status_code == 200, vote.content
        assert (vote.json()["choice"], vote.json()["rationale"]) == ("approve", rationale)

    decided = api_client(dac_chair).post(
        f"{url}/reviews/{review}/decision/",
        {"decision": "approved", "comment": "Approved for two years of work."},
        format="json",
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["decision"] == "approved"
    assert [v["member"]["email"] for v in decided.json()["votes"]] == [
        "member@example.org",
        "chair@example.org",
    ]

    page = applicant.get(f"{url}/").json()
    assert page["request"]["status"] == "approved"
    assert page["reviews"][0]["decision"] == "approved"
    assert "votes" not in page["reviews"][0]

    mine = applicant.get(f"{API}/grants/").json()
    assert mine["count"] == 1
    [grant] = mine["results"]
    assert (grant["request"], grant["dataset"], grant["grantee"]["email"], grant["state"]) == (
        accession,
        cohort.dataset.accession,
        "researcher@example.org",
        "active",
    )
    assert grant["ends_on"] == decided.json()["grant_end"]
    cora = api_client(coapplicant).get(f"{API}/grants/").json()
    assert [g["grantee"]["email"] for g in cora["results"]] == ["cora@example.org"]
    committee = api_client(dac_chair).get(f"{API}/grants/", {"state": "active"}).json()
    assert sorted(g["grantee"]["email"] for g in committee["results"]) == [
        "cora@example.org",
        "researcher@example.org",
    ]
    assert applicant.get(f"{API}/grants/{grant['id']}/").json()["id"] == grant["id"]

    notices = applicant.get(f"{API}/notifications/").json()
    assert notices["unread"] >= 1
    assert f"{accession} was approved." in [n["message"] for n in notices["results"]]
    read = applicant.post(f"{API}/notifications/read/", {}, format="json").json()
    assert (read["marked"], read["unread"]) == (notices["unread"], 0)
