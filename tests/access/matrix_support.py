"""The world the permission matrix probes: four requests in the states the access surface
acts on, the committees that review them and one person in each role towards them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from access.models import AccessRequest, CoApplicant, CommitteeReview, EthicsDocument, Grant
from access.services import (
    agreements_accept,
    coapplicant_answer,
    coapplicant_invite,
    ethics_upload,
    invitation_token,
    review_decide,
    vote_cast,
)
from consent.models import ConsentVersion
from datasets.models import Committee, Dataset
from portal.models import Role, User
from tests.access.api_support import api_client
from tests.access.conftest import (
    complete_draft,
    link_sample,
    participant_with,
    submit_for_review,
)
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES
from tests.factories import UserFactory

INSTITUTION = "Riverside Institute"
# The Test DAC's votes on the request under review: committees and stewards read them.
RATIONALE = "Sound design; the controls are well matched."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The columns of the matrix, in the order the issue names them.
PERSONAS = (
    "anonymous",
    "participant",
    "other_participant",
    "researcher",
    "other_researcher",
    "coapplicant",
    "member",
    "other_committee",
    "recused",
    "chair",
    "community",
    "steward",
)


def namespaced_patterns(namespaces: set[str]) -> set[str]:
    """`namespace:name` of every URL pattern the URL configuration mounts in these namespaces."""
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and namespace in namespaces:
                found.add(f"{namespace}:{entry.name}")

    walk(get_resolver().url_patterns, None)
    return found


@dataclass
class World:
    people: dict[str, User]
    dac: Committee
    community: Committee
    in_review: AccessRequest  # under review by the Test DAC and the community committee
    returned: AccessRequest  # returned for changes: editable, and seen by the committees
    approved: AccessRequest  # approved, with grants
    draft: AccessRequest  # a draft: the applicant's own business
    dac_review: CommitteeReview  # the Test DAC's open review of `in_review` (quorum reached)
    document: EthicsDocument  # on `in_review`
    coapplicant_on_returned: CoApplicant  # accepted: the one the applicant may remove
    token: str  # the co-applicant's pending invitation to `draft`
    grant: Grant  # the applicant's grant on `approved`


def _submit(request: AccessRequest, actor: User, capture: Any) -> AccessRequest:
    return submit_for_review(request, actor, capture)


def _join(request: AccessRequest, applicant: User, coapplicant: User) -> CoApplicant:
    invitation = coapplicant_invite(actor=applicant, request=request, email=coapplicant.email)
    return coapplicant_answer(
        actor=coapplicant, invitation=invitation, accept=True, accept_agreements=True
    )


def build_world(
    *,
    participant: User,
    other_participant: User,
    researcher: User,
    outsider: User,
    dac_member: User,
    third_member: User,
    dac_chair: User,
    other_dac_member: User,
    steward: User,
    dac: Committee,
    community: Committee,
    dataset: Dataset,
    consent_version: ConsentVersion,
    capture: Any,
) -> World:
    """Every request and person the matrix needs, made through the services."""
    coapplicant = UserFactory(
        email="cora.coapplicant@example.org", full_name="Cora Co", role=Role.RESEARCHER
    )
    # Recused for working where the applicant works (the factories' users work elsewhere).
    recused = UserFactory(
        email="rex.recused@example.org",
        full_name="Rex Recused",
        role=Role.DAC_MEMBER,
        institution=INSTITUTION,
    )
    dac.members.add(recused)
    dac.recuse_same_institution = True
    dac.save(update_fields=["recuse_same_institution"])
    community_member = UserFactory(
        email="cam.community@nation.example", full_name="Cam Community", role=Role.DAC_MEMBER
    )
    community.members.add(community_member)
    # Two of the dataset's samples belong to the community: its committee reviews too.
    for n in range(2):
        link_sample(dataset, participant_with(consent_version, ALL_YES), f"N{n:03d}", community)

    def started(**changes: Any) -> AccessRequest:
        request = complete_draft(researcher, dataset, institution=INSTITUTION, **changes)
        agreements_accept(actor=researcher, request=request)
        return request

    in_review = started(title="Under review")
    _join(in_review, researcher, coapplicant)
    document = ethics_upload(actor=researcher, request=in_review, name="irb.pdf", content=PDF)
    in_review = _submit(in_review, researcher, capture)
    dac_review = in_review.reviews.get(committee=dac)
    for member in (dac_member, third_member):
        vote_cast(actor=member, review=dac_review, choice="approve", rationale=RATIONALE)

    returned = started(title="Returned")
    coapplicant_on_returned = _join(returned, researcher, coapplicant)
    returned = _submit(returned, researcher, capture)
    review = returned.reviews.get(committee=dac)
    for member in (dac_member, dac_chair):
        vote_cast(actor=member, review=review, choice="approve", rationale="Nearly.")
    review_decide(actor=dac_chair, review=review, decision="returned", comment="Say more.")
    returned.refresh_from_db()

    approved = _submit(started(title="Approved"), researcher, capture)
    review = approved.reviews.get(committee=dac)
    for member in (dac_member, dac_chair):
        vote_cast(actor=member, review=review, choice="approve", rationale="Fine.")
    review_decide(actor=dac_chair, review=review, decision="approved")
    approved.refresh_from_db()

    draft = complete_draft(researcher, dataset, institution=INSTITUTION, title="Draft")
    pending = coapplicant_invite(actor=researcher, request=draft, email=coapplicant.email)

    people = {
        "participant": participant,
        "other_participant": other_participant,
        "researcher": researcher,
        "other_researcher": outsider,
        "coapplicant": coapplicant,
        "member": dac_member,
        "other_committee": other_dac_member,
        "recused": recused,
        "chair": dac_chair,
        "community": community_member,
        "steward": steward,
    }
    return World(
        people=people,
        dac=dac,
        community=community,
        in_review=in_review,
        returned=returned,
        approved=approved,
        draft=draft,
        dac_review=dac_review,
        document=document,
        coapplicant_on_returned=coapplicant_on_returned,
        token=invitation_token(pending),
        grant=Grant.objects.get(request=approved, grantee=researcher),
    )


def html_client(user: User | None) -> Client:
    """Signed in through the sign-in form (second factor included); errors come back as 500s."""
    client = signed_in_client(user) if user is not None else Client()
    client.raise_request_exception = False
    return client


def token_client(user: User | None) -> APIClient:
    client = api_client(user)
    client.raise_request_exception = False
    return client


def pdf_upload(name: str = "approval.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")
