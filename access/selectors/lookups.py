"""Small reads the API needs: objects inside a request by id, grant states, status counts.

Each lookup is scoped to an object the caller already loaded through a permission-aware
getter (`request_for`, `visible_grants`), so finding nothing gives the same 404 as not
being allowed.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from access.models import (
    AccessRequest,
    CoApplicant,
    CommitteeReview,
    Grant,
    ReviewDecision,
    Vote,
)
from datasets.models import Committee
from portal.exceptions import NotFoundError

GRANT_STATES = ("active", "expired", "revoked")


def review_of(request: AccessRequest, review_id: int) -> CommitteeReview:
    review = (
        CommitteeReview.objects.select_related("committee")
        .filter(request=request, pk=review_id)
        .first()
    )
    if review is None:
        raise NotFoundError("No such review of this request.")
    review.request = request
    return review


def invitation_of(request: AccessRequest, invitation_id: int) -> CoApplicant:
    invitation = CoApplicant.objects.filter(request=request, pk=invitation_id).first()
    if invitation is None:
        raise NotFoundError("No such invitation on this request.")
    invitation.request = request
    return invitation


def committee_by_id(committee_id: int) -> Committee | None:
    return Committee.objects.filter(pk=committee_id).first()


def review_summaries(request: AccessRequest) -> list[CommitteeReview]:
    """Every committee's review of the request, newest round first, with votes: two queries."""
    return list(
        CommitteeReview.objects.filter(request=request)
        .exclude(decision=ReviewDecision.SUPERSEDED)
        .select_related("committee", "decided_by")
        .prefetch_related(
            Prefetch("votes", queryset=Vote.objects.select_related("member").order_by("cast_at"))
        )
        .order_by("-review_round", "committee__kind", "committee__name")
    )


def grants_in_state(
    grants: QuerySet[Grant], state: str = "", *, today: dt.date | None = None
) -> QuerySet[Grant]:
    """Grants filtered by the state time gives them today (never by what a job recorded)."""
    today = today or timezone.localdate()
    if state == "revoked":
        grants = grants.filter(revoked_at__isnull=False)
    elif state == "active":
        grants = grants.filter(revoked_at__isnull=True, starts_on__lte=today, ends_on__gte=today)
    elif state == "expired":
        grants = grants.filter(Q(revoked_at__isnull=True) & Q(ends_on__lt=today))
    return grants.select_related("dataset", "grantee", "request", "review__committee").order_by(
        "-starts_on", "-pk"
    )


def status_counts(requests: QuerySet[AccessRequest]) -> dict[str, int]:
    return {
        row["status"]: row["n"]
        for row in requests.order_by().values("status").annotate(n=Count("pk"))
    }


def community_uses_with_decisions(
    uses: QuerySet[AccessRequest], committee: Committee
) -> list[AccessRequest]:
    """The community's uses (from `community_uses`), each with the community committee's
    own reviews attached as `community_reviews`."""
    return list(
        uses.prefetch_related(
            Prefetch(
                "reviews",
                queryset=CommitteeReview.objects.filter(committee=committee)
                .exclude(decision=ReviewDecision.SUPERSEDED)
                .order_by("-review_round"),
                to_attr="community_reviews",
            )
        )
    )
