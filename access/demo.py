"""Demo access requests in every state, through the same services as the pages.

A community (a fictional nation) with its own governance committee holds some samples of
the demo cohort; a committee member from the applicant's institution is recused; votes,
decisions, grants, a revocation and an expiry are all real service calls. Idempotent: it
does nothing once any access request exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TextIO

from django.utils import timezone

from access import services
from access.models import AccessRequest, CommitteeReview
from consent.models import Participant
from datasets.demo import COHORT_TITLE, TUMOUR_TITLE
from datasets.models import Committee, CommitteeKind, Dataset
from datasets.services import committee_create, committee_update, samples_assign_community
from portal.models import User

COMMUNITY_NAME = "Tamar Valley Nation governance committee"
COMMUNITY_MEMBERS = 12  # the first participants of the cohort belong to the nation
AGREEMENT = (
    "1. Use the data only for the approved project and only by the people named on it.\n"
    "2. Keep the data on secured systems of your institution; never try to identify anyone.\n"
    "3. Delete the data when access ends, and tell the committee of any breach within 24 hours.\n"
    "4. Acknowledge the Custodian cohort and its participants in every publication."
)
# A minimal, valid one-page PDF: the demo's ethics approval letter.
ETHICS_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass(frozen=True)
class DemoPeople:
    steward: User
    chair: User
    member: User
    recused_member: User
    researcher: User
    coapplicant: User
    elder: User


def _base(**changes: Any) -> dict[str, Any]:
    return {
        "lay_summary": "We study how small differences in DNA change the risk of common "
        "diseases, to find better ways to prevent them.",
        "scientific_abstract": "A genome-wide association study of common variants with "
        "replication in an independent cohort.",
        "primary_use": "HMB",
        "countries": ["GB"],
        "signing_official_name": "Sigrid Official",
        "signing_official_email": "research.office@cam.demo.custodian.test",
        "security_attestation": True,
        **changes,
    }


def _draft(people: DemoPeople, datasets: list[Dataset], **fields: Any) -> AccessRequest:
    request = services.access_request_create(
        actor=people.researcher, dataset_ids=[d.pk for d in datasets], **_base(**fields)
    )
    services.agreements_accept(actor=people.researcher, request=request)
    return request


def _submitted(people: DemoPeople, datasets: list[Dataset], **fields: Any) -> AccessRequest:
    request = _draft(people, datasets, **fields)
    services.access_request_submit(actor=people.researcher, request=request)
    # What the worker does after the commit, done here so the demo does not wait for it.
    services.access_request_review_start(request_id=request.pk)
    return AccessRequest.objects.get(pk=request.pk)


def _dac_review(request: AccessRequest) -> CommitteeReview:
    return request.reviews.get(committee__kind=CommitteeKind.DAC)


def _votes(review: CommitteeReview, choice: str, *members: User) -> None:
    for member in members:
        services.vote_cast(
            actor=member,
            review=review,
            choice=choice,
            rationale=f"{member.get_short_name()}: "
            + (
                "the purpose fits the consent and the data."
                if choice == "approve"
                else "the project does not justify access to these data."
            ),
        )


def _approved(people: DemoPeople, request: AccessRequest, **decision: Any) -> AccessRequest:
    review = _dac_review(request)
    _votes(review, "approve", people.chair, people.member)
    services.review_decide(actor=people.chair, review=review, decision="approved", **decision)
    return AccessRequest.objects.get(pk=request.pk)


def _community(people: DemoPeople, participants: list[Participant], cohort: Dataset) -> Committee:
    community = Committee.objects.filter(name=COMMUNITY_NAME).first() or committee_create(
        actor=people.steward,
        name=COMMUNITY_NAME,
        contact_email="governance@tamar.demo.custodian.test",
        chairs=[people.elder],
        kind=CommitteeKind.COMMUNITY,
        description="The nation's own committee decides every use of its members' data.",
    )
    members = {p.pk for p in participants[:COMMUNITY_MEMBERS]}
    samples = cohort.samples.filter(participant_id__in=members).values_list("sample_id", flat=True)
    samples_assign_community(
        actor=people.steward, dataset=cohort, sample_ids=list(samples), community=community
    )
    return community


def seed_demo_access(
    *,
    people: DemoPeople,
    committee: Committee,
    participants: list[Participant],
    stdout: TextIO,
) -> None:
    if AccessRequest.objects.exists():
        return
    cohort = Dataset.objects.get(title=COHORT_TITLE)
    tumour = Dataset.objects.get(title=TUMOUR_TITLE)
    committee_update(
        actor=people.steward,
        committee=committee,
        contact_email=committee.contact_email,
        quorum=None,
        recuse_same_institution=True,
        description=committee.description,
    )
    services.agreement_publish(actor=people.steward, committee=committee, text=AGREEMENT)
    community = _community(people, participants, cohort)
    today = timezone.localdate()

    _draft(people, [cohort], title="Polygenic scores for childhood asthma", primary_use="")

    # Submitted: the worker starts its review as soon as it runs.
    request = _draft(people, [cohort], title="Rare variants in epilepsy")
    services.access_request_submit(actor=people.researcher, request=request)

    # Under review: one vote in, a member recused (same institution as the applicant), and
    # the tumour dataset's IRB condition met with an ethics approval.
    request = _draft(
        people,
        [cohort, tumour],
        title="Somatic and germline variants in breast cancer",
        primary_use="DS",
        diseases=["MONDO:0007254"],
    )
    services.ethics_upload(
        actor=people.researcher, request=request, name="ethics-approval.pdf", content=ETHICS_PDF
    )
    services.access_request_submit(actor=people.researcher, request=request)
    services.access_request_review_start(request_id=request.pk)
    _votes(_dac_review(AccessRequest.objects.get(pk=request.pk)), "approve", people.member)

    request = _submitted(people, [cohort], title="Heart failure genetics in the UK")
    review = _dac_review(request)
    _votes(review, "reject", people.chair, people.member)
    services.review_decide(
        actor=people.chair,
        review=review,
        decision="returned",
        comment="Please describe how you will choose controls, and which analyses you plan.",
        justification="The purpose matches, but the abstract is too vague to judge.",
    )

    # Approved, with a co-applicant who accepted, and the community's approval too.
    request = _draft(people, [cohort], title="Type 2 diabetes risk across ancestries")
    invitation = services.coapplicant_invite(
        actor=people.researcher,
        request=request,
        email=people.coapplicant.email,
        full_name=people.coapplicant.full_name,
    )
    services.coapplicant_answer(
        actor=people.coapplicant, invitation=invitation, accept=True, accept_agreements=True
    )
    services.access_request_submit(actor=people.researcher, request=request)
    services.access_request_review_start(request_id=request.pk)
    request = _approved(
        people,
        AccessRequest.objects.get(pk=request.pk),
        conditions="Share summary statistics with the cohort within 12 months.",
    )
    nation = request.reviews.get(committee=community)
    _votes(nation, "approve", people.elder)
    services.review_decide(
        actor=people.elder,
        review=nation,
        decision="approved",
        comment="The nation supports this research; report back to our community meeting.",
    )

    request = _submitted(
        people,
        [cohort],
        title="Commercial drug-target discovery",
        commercial=True,
        for_profit_organisation=True,
    )
    review = _dac_review(request)
    _votes(review, "reject", people.chair, people.member)
    services.review_decide(
        actor=people.chair,
        review=review,
        decision="rejected",
        comment="The committee does not support this use.",
        justification="Participants were told their data would support public-benefit research.",
    )

    request = _draft(people, [cohort], title="Sleep and genetics (abandoned)")
    services.access_request_withdraw(
        actor=people.researcher, request=request, comment="Funding was not renewed."
    )

    request = _approved(people, _submitted(people, [cohort], title="Blood pressure variants"))
    services.grants_revoke(
        actor=people.chair,
        request=request,
        committee=committee,
        reason="The data-security attestation was found to be untrue.",
    )

    _approved(
        people, _submitted(people, [cohort], title="Cholesterol genetics (2025)"), grant_end=today
    )
    services.access_requests_expire(today=today + dt.timedelta(days=1))
    stdout.write(
        "Demo access requests in every state, with votes, a recusal, a revocation, an expiry "
        f"and the {COMMUNITY_NAME} ({COMMUNITY_MEMBERS} members' samples).\n"
    )
