"""Every access API operation, tried anonymously (401) and as a signed-in outsider (the
same 404 as a missing object; lists are empty). The table is checked against the URL
configuration, so a new endpoint without a row fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from access import api_urls
from access.models import AccessRequest, CommitteeReview, Delivery, Grant
from access.services import (
    coapplicant_answer,
    coapplicant_invite,
    ethics_upload,
    invitation_token,
    review_decide,
    vote_cast,
)
from portal.models import Role, User
from tests.access.api_support import API, api_client, problem
from tests.access.conftest import submit_for_review
from tests.factories import UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOT_FOUND = "not found"
EMPTY_LIST = "empty list"

# (method, route in access/api_urls.py, status for an outsider or what they get)
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("get", "requests/", EMPTY_LIST),
    ("post", "requests/", 201),  # any researcher may start a draft of their own
    ("get", "requests/<str:accession>/", NOT_FOUND),
    ("patch", "requests/<str:accession>/", NOT_FOUND),
    ("post", "requests/<str:accession>/submit/", NOT_FOUND),
    ("post", "requests/<str:accession>/withdraw/", NOT_FOUND),
    ("post", "requests/<str:accession>/renew/", NOT_FOUND),
    ("get", "requests/<str:accession>/timeline/", NOT_FOUND),
    ("get", "requests/<str:accession>/match/", NOT_FOUND),
    ("post", "requests/<str:accession>/coapplicants/", NOT_FOUND),
    ("delete", "requests/<str:accession>/coapplicants/<int:invitation_id>/", NOT_FOUND),
    ("get", "requests/<str:accession>/agreements/", NOT_FOUND),
    ("post", "requests/<str:accession>/agreements/accept/", NOT_FOUND),
    ("post", "requests/<str:accession>/ethics/", NOT_FOUND),
    ("get", "requests/<str:accession>/ethics/<int:document_id>/", NOT_FOUND),
    ("get", "requests/<str:accession>/reviews/", NOT_FOUND),
    ("put", "requests/<str:accession>/reviews/<int:review_id>/vote/", NOT_FOUND),
    ("post", "requests/<str:accession>/reviews/<int:review_id>/decision/", NOT_FOUND),
    ("post", "requests/<str:accession>/revoke/", NOT_FOUND),
    ("get", "requests/<str:accession>/deliveries/", NOT_FOUND),
    ("post", "invitations/<str:token>/accept/", 403),  # sent to someone else
    ("post", "invitations/<str:token>/decline/", 403),
    ("get", "grants/", EMPTY_LIST),
    ("get", "grants/<int:grant_id>/", NOT_FOUND),
    ("post", "grants/<int:grant_id>/deliveries/", NOT_FOUND),
    ("get", "deliveries/<int:delivery_id>/", NOT_FOUND),
    ("post", "deliveries/<int:delivery_id>/revoke/", NOT_FOUND),
    ("get", "notifications/", EMPTY_LIST),
    ("post", "notifications/read/", 200),
    ("get", "committees/<int:committee_id>/agreements/", NOT_FOUND),
    ("post", "committees/<int:committee_id>/agreements/", NOT_FOUND),
    ("get", "communities/<int:committee_id>/uses/", NOT_FOUND),
]
METHODS = ("get", "post", "put", "patch", "delete")


def test_the_table_lists_every_access_api_operation() -> None:
    configured = {
        (method, str(pattern.pattern))
        for pattern in api_urls.urlpatterns
        for method in METHODS
        if hasattr(pattern.callback.cls, method)
    }
    assert configured == {(method, route) for method, route, _ in ENDPOINTS}


@pytest.fixture
def world(
    draft: AccessRequest,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    dac: Any,
    community: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> dict[str, Any]:
    """An approved request with a co-applicant, an ethics document and grants."""
    cora = UserFactory(email="cora@example.org", role=Role.RESEARCHER)
    invitation = coapplicant_invite(actor=researcher, request=draft, email=cora.email)
    coapplicant_answer(actor=cora, invitation=invitation, accept=True, accept_agreements=True)
    with override_settings(CUSTODIAN_PRIVATE_ROOT=tmp_path):
        document = ethics_upload(actor=researcher, request=draft, name="irb.pdf", content=PDF)
    request = submit_for_review(draft, researcher, django_capture_on_commit_callbacks)
    review = CommitteeReview.objects.get(request=request)
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=review, choice="approve", rationale="Fine.")
    review_decide(actor=dac_chair, review=review, decision="approved")
    grant = Grant.objects.filter(request=request, grantee=researcher).get()
    delivery = Delivery.objects.create(grant=grant, requested_by=researcher)
    return {
        "accession": request.accession,
        "invitation_id": invitation.pk,
        "document_id": document.pk,
        "review_id": review.pk,
        "token": invitation_token(invitation),
        "grant_id": grant.pk,
        "delivery_id": delivery.pk,
        "committee_id": community.pk,
        "dac_id": dac.pk,
    }


def _path(route: str, world: dict[str, Any]) -> str:
    values = {**world}
    if route.startswith("committees/"):
        values["committee_id"] = world["dac_id"]
    for name, value in values.items():
        for kind in ("str", "int"):
            route = route.replace(f"<{kind}:{name}>", str(value))
    return f"{API}/{route}"


# Authentication comes first: the objects need not exist for an anonymous refusal.
ANY_IDS = {
    "accession": "CAR000001",
    "invitation_id": 1,
    "document_id": 1,
    "review_id": 1,
    "token": "1:sig",
    "grant_id": 1,
    "delivery_id": 1,
    "committee_id": 1,
    "dac_id": 1,
}


@pytest.mark.parametrize(("method", "route", "_"), ENDPOINTS)
def test_api_anonymous_is_refused_401(method: str, route: str, _: Any, db: None) -> None:
    response = getattr(api_client(), method)(_path(route, ANY_IDS))

    assert response.status_code == 401
    assert problem(response)["detail"] == "Authentication credentials were not provided."


@pytest.mark.parametrize(("method", "route", "expected"), ENDPOINTS)
def test_api_outsider_finds_nothing(
    method: str, route: str, expected: Any, world: dict, outsider: User
) -> None:
    response = getattr(api_client(outsider), method)(_path(route, world), {}, format="json")

    if expected == NOT_FOUND:
        assert response.status_code == 404, response.content
        assert problem(response)["title"] == "Not found"
    elif expected == EMPTY_LIST:
        assert response.status_code == 200
        assert response.json()["count"] == 0
    else:
        assert response.status_code == expected, response.content


def test_api_accepts_a_browser_session(researcher: User) -> None:
    from tests.conftest import signed_in_client

    response = signed_in_client(researcher).get(f"{API}/requests/")

    assert response.status_code == 200
    assert response.json()["count"] == 0
