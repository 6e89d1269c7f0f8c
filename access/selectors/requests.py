"""Reads on requests for the pages and the API: lists, the queue, the review, the timeline.

Every list is built in a fixed number of queries, whatever the number of requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from access import permissions
from access.models import (
    AccessRequest,
    AgreementAcceptance,
    CoApplicant,
    CommitteeReview,
    DeliveryParticipant,
    DeliveryStatus,
    EthicsDocument,
    Grant,
    InvitationStatus,
    RequestedDataset,
    RequestEvent,
    RequestStatus,
    ReviewDecision,
    Vote,
)
from access.purpose import request_match
from access.selectors.consented import ConsentBreakdown, consent_breakdown
from access.selectors.reviews import (
    QuorumState,
    combined_outcome,
    quorum_state,
    review_datasets,
)
from consent.duo import Decision, Outcome
from consent.models import Participant
from datasets.models import Committee, Dataset, Sample
from portal.exceptions import NotFoundError
from portal.models import Notification, User

PAGE_SIZE = 25


def with_datasets(requests: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    return requests.select_related("applicant").prefetch_related(
        Prefetch(
            "requested_datasets",
            queryset=RequestedDataset.objects.select_related("dataset__committee"),
        )
    )


def request_for(user: User, accession: str) -> AccessRequest:
    """The request if the user may see it; otherwise the same 404 as a missing one."""
    request = (
        AccessRequest.objects.select_related("applicant", "renewal_of")
        .filter(accession=accession)
        .first()
    )
    if request is None or not permissions.can_view_request(user, request):
        raise NotFoundError("No such access request.")
    return request


def my_requests(user: User) -> QuerySet[AccessRequest]:
    """The researcher's own requests and those they co-apply to, newest first."""
    coapplied = CoApplicant.objects.filter(
        request=OuterRef("pk"), user=user, status=InvitationStatus.ACCEPTED
    )
    return with_datasets(
        AccessRequest.objects.filter(Q(applicant=user) | Exists(coapplied))
    ).order_by("-updated_at", "-pk")


def timeline(request: AccessRequest, rights: permissions.RequestRights) -> list[RequestEvent]:
    """The request's events; a committee's votes and comments only for its members (and
    stewards), never for the applicants."""
    events = RequestEvent.objects.filter(request=request).select_related("actor", "committee")
    return [
        e
        for e in events.order_by("at", "pk")
        if not e.internal or rights.sees_internal_of(e.committee_id)
    ]


def coapplicants_of(request: AccessRequest) -> list[CoApplicant]:
    return list(CoApplicant.objects.filter(request=request).select_related("user"))


def ethics_of(request: AccessRequest) -> list[EthicsDocument]:
    return list(EthicsDocument.objects.filter(request=request))


def ethics_document(request: AccessRequest, document_id: int) -> EthicsDocument:
    document = EthicsDocument.objects.filter(request=request, pk=document_id).first()
    if document is None:
        raise NotFoundError("No such document.")
    return document


def acceptances_of(request: AccessRequest) -> list[AgreementAcceptance]:
    return list(
        AgreementAcceptance.objects.filter(request=request).select_related(
            "user", "agreement__committee"
        )
    )


def grants_of(request: AccessRequest) -> list[Grant]:
    return list(
        Grant.objects.filter(request=request).select_related(
            "dataset", "grantee", "review__committee", "revoked_by"
        )
    )


def grant_for(user: User, grant_id: int) -> Grant:
    grant = (
        permissions.visible_grants(user)
        .select_related("dataset", "grantee", "request", "review__committee")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None:
        raise NotFoundError("No such grant.")
    return grant


def active_grants(user: User, *, today: dt.date | None = None) -> QuerySet[Grant]:
    """The user's grants in force today: time decides, whatever a job has or has not done."""
    today = today or timezone.localdate()
    return Grant.objects.filter(
        grantee=user, revoked_at__isnull=True, starts_on__lte=today, ends_on__gte=today
    ).select_related("dataset", "request")


# --- the committee's queue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    requests: list[AccessRequest]
    total: int
    counts: dict[str, int]
    waiting_for_me: int
    page: int
    pages: int


def _reviewed_by(user: User) -> QuerySet[CommitteeReview]:
    return CommitteeReview.objects.filter(committee__members=user)


def _queue_base(user: User) -> QuerySet[AccessRequest]:
    # A semi-join on the ids of the reviews of the user's committees: one hashed pass,
    # where a correlated EXISTS per request costs a probe per row.
    reviewed = _reviewed_by(user).values("request_id")
    return AccessRequest.objects.exclude(status=RequestStatus.DRAFT).filter(pk__in=reviewed)


def _waiting_reviews(user: User) -> QuerySet[CommitteeReview]:
    """Current-round reviews of the user's committees, undecided, without the user's vote, of
    requests under review that are not the user's own."""
    return (
        _reviewed_by(user)
        .filter(
            decision=ReviewDecision.PENDING,
            review_round=F("request__review_round"),
            request__status=RequestStatus.UNDER_REVIEW,
        )
        .exclude(request__applicant=user)
        .exclude(Exists(Vote.objects.filter(review=OuterRef("pk"), member=user)))
    )


def committee_queue(
    user: User,
    *,
    state: str = "",
    dataset: str = "",
    waiting_for_me: bool = False,
    page: int = 1,
) -> Queue:
    """The requests the user's committees review, filtered, one page, with counts by state.

    Four queries whatever the queue's length: the counts by state, the ids waiting for the
    user's vote, the filtered total, and the page (its datasets prefetched in one more).
    """
    base = _queue_base(user)
    counts = {
        row["status"]: row["n"] for row in base.order_by().values("status").annotate(n=Count("pk"))
    }
    waiting_ids = set(_waiting_reviews(user).values_list("request_id", flat=True))
    found = base
    if state:
        found = found.filter(status=state)
    if dataset:
        found = found.filter(requested_datasets__dataset__accession=dataset)
    if waiting_for_me:
        found = found.filter(pk__in=_waiting_reviews(user).values("request_id"))
    if dataset or (waiting_for_me and state):
        total = found.count()
    elif waiting_for_me:
        total = len(waiting_ids)
    else:
        total = counts.get(state, 0) if state else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(
        with_datasets(found).order_by("-submitted_at", "-pk")[
            (page - 1) * PAGE_SIZE : page * PAGE_SIZE
        ]
    )
    for row in rows:
        row.waiting = row.pk in waiting_ids  # type: ignore[attr-defined]
    return Queue(rows, total, counts, len(waiting_ids), page, pages)


def datasets_reviewed_by(user: User) -> QuerySet[Dataset]:
    return Dataset.objects.filter(committee__members=user).order_by("accession")


# --- the review page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetReview:
    dataset: Dataset
    match: Decision | None
    consent: ConsentBreakdown


@dataclass(frozen=True)
class ReviewPanel:
    review: CommitteeReview
    datasets: list[DatasetReview]
    outcome: Outcome | None
    quorum: QuorumState
    votes: list[Vote]
    my_vote: Vote | None
    recused: str | None
    is_member: bool
    can_vote: bool
    can_decide: bool
    can_revoke: bool
    active_grants: int = 0
    recused_members: dict[int, str] = field(default_factory=dict)


def review_panels(request: AccessRequest, user: User) -> list[ReviewPanel]:
    """One panel per committee reviewing the current round (plus decided earlier rounds)."""
    reviews = list(
        CommitteeReview.objects.filter(request=request)
        .exclude(decision=ReviewDecision.SUPERSEDED)
        .select_related("committee", "decided_by")
        .prefetch_related(
            Prefetch("votes", queryset=Vote.objects.select_related("member").order_by("cast_at")),
            "committee__members",
            "committee__chairs",
        )
        .order_by("-review_round", "committee__kind", "committee__name")
    )
    today = timezone.localdate()
    active = _active_grants_by_committee(request, today)
    # A dataset reviewed by its DAC and by a community is matched and counted once.
    seen: dict[int, DatasetReview] = {}

    def dataset_review(dataset: Dataset) -> DatasetReview:
        if dataset.pk not in seen:
            seen[dataset.pk] = DatasetReview(
                dataset, request_match(request, dataset), consent_breakdown(request, dataset)
            )
        return seen[dataset.pk]

    steward = permissions.is_steward(user)
    sits_on = {
        r.committee.is_community
        for r in reviews
        if user.pk in {m.pk for m in r.committee.members.all()}
    }
    # Only a community committee's members are kept from other communities' panels.
    community_only = sits_on == {True} and not steward
    panels = []
    for review in reviews:
        review.request = request
        committee = review.committee
        members = list(committee.members.all())
        member_ids = {m.pk for m in members}
        if community_only and committee.is_community and user.pk not in member_ids:
            continue  # a community sees nothing of another community's review
        chairs = {c.pk for c in committee.chairs.all()}
        is_member = user.pk in member_ids
        recused_members = permissions.recusals(review, members)
        datasets = [dataset_review(d) for d in review_datasets(review)]
        outcomes = [d.match for d in datasets]
        open_now = review.decision == ReviewDecision.PENDING and (
            review.review_round == request.review_round
        )
        sees_votes = is_member or steward
        votes = list(review.votes.all()) if sees_votes else []
        quorum = quorum_state(review)
        panels.append(
            ReviewPanel(
                review=review,
                datasets=datasets,
                outcome=combined_outcome(outcomes),
                quorum=quorum,
                votes=votes,
                my_vote=next((v for v in votes if v.member_id == user.pk), None),
                recused=recused_members.get(user.pk),
                is_member=is_member,
                can_vote=open_now
                and is_member
                and user.pk not in recused_members
                and request.status in _open_states(committee),
                can_decide=open_now
                and user.pk in chairs
                and request.status in _open_states(committee),
                can_revoke=user.pk in chairs
                and request.status == RequestStatus.APPROVED
                and active.get(committee.pk, 0) > 0,
                active_grants=active.get(committee.pk, 0),
                recused_members=recused_members,
            )
        )
    return panels


def _open_states(committee: Committee) -> set[str]:
    if committee.is_community:
        return {RequestStatus.UNDER_REVIEW, RequestStatus.APPROVED}
    return {RequestStatus.UNDER_REVIEW}


def _active_grants_by_committee(request: AccessRequest, today: dt.date) -> dict[int, int]:
    rows = (
        Grant.objects.filter(request=request, revoked_at__isnull=True, ends_on__gte=today)
        .values("review__committee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["review__committee_id"]: row["n"] for row in rows}


# --- participants and communities ----------------------------------------------------------------


@dataclass(frozen=True)
class DataUse:
    """One approved use that received data including the participant's."""

    accession: str
    title: str
    lay_summary: str
    institution: str
    approved_on: dt.date | None
    ends_on: dt.date | None
    status: str
    received_on: dt.date | None = None


def data_uses_for_participant(participant: Participant) -> list[DataUse]:
    """Requests under which a delivery actually included the participant's samples (the
    consented sample set recorded when the links were issued), newest data first."""
    included = DeliveryParticipant.objects.filter(
        participant=participant, delivery__status=DeliveryStatus.READY
    )
    last_end = Grant.objects.filter(request=OuterRef("pk")).order_by("-ends_on").values("ends_on")
    requests = (
        AccessRequest.objects.filter(
            pk__in=included.values("delivery__grant__request_id"),
        )
        .annotate(
            received=Subquery(
                included.filter(delivery__grant__request_id=OuterRef("pk"))
                .order_by("-delivery__ready_at")
                .values("delivery__ready_at")[:1]
            ),
            last_end=Subquery(last_end[:1]),
        )
        .order_by("-received", "-pk")
    )
    return [
        DataUse(
            accession=request.accession or "",
            title=request.title,
            lay_summary=request.lay_summary,
            institution=request.institution,
            approved_on=timezone.localdate(request.decided_at) if request.decided_at else None,
            ends_on=request.last_end,
            status=request.get_status_display(),
            received_on=timezone.localdate(request.received) if request.received else None,
        )
        for request in requests
    ]


def community_uses(committee: Committee) -> QuerySet[AccessRequest]:
    """Requests whose datasets hold the community's members' samples (purposes, institutions,
    dates), with the community's own decision; nothing of other communities."""
    holding = Sample.objects.filter(community=committee).values("dataset_id")
    return with_datasets(
        AccessRequest.objects.exclude(status=RequestStatus.DRAFT)
        .filter(requested_datasets__dataset_id__in=holding)
        .distinct()
        .order_by("-submitted_at", "-pk")
    )


def community_committees_of(user: User) -> QuerySet[Committee]:
    return Committee.objects.filter(members=user, kind="community").order_by("name")


# --- stewards -----------------------------------------------------------------------------------


def steward_requests(*, state: str = "") -> QuerySet[AccessRequest]:
    requests = AccessRequest.objects.all()
    if state:
        requests = requests.filter(status=state)
    return with_datasets(requests).order_by("-updated_at", "-pk")


# --- notices ------------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_of(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")
