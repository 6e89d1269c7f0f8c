"""Reads for the committee and steward pages: one review of a request, a community's view
of its members' data, committees with their people, agreement versions."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from access import permissions
from access.models import AccessRequest, CommitteeReview, DataAccessAgreement
from datasets.models import Committee
from portal.exceptions import NotFoundError
from portal.models import User


def sits_on_a_committee(user: User) -> bool:
    return Committee.objects.filter(members=user).exists()


def latest_review(request: AccessRequest, committee_id: int) -> CommitteeReview | None:
    return (
        CommitteeReview.objects.filter(request=request, committee_id=committee_id)
        .order_by("-review_round")
        .first()
    )


def reviewing_committee(request: AccessRequest, committee_id: int) -> Committee:
    committee = Committee.objects.filter(pk=committee_id, reviews__request=request).first()
    if committee is None:
        raise NotFoundError("This committee does not review this request.")
    return committee


def community_for(user: User, committee_id: int) -> Committee:
    """A community committee whose members' data use the user may see; others: not found."""
    committee = Committee.objects.filter(pk=committee_id).first()
    if committee is None or not permissions.can_see_community_use(user, committee):
        raise NotFoundError("No such community committee.")
    return committee


def community_decisions(
    committee: Committee, requests: list[AccessRequest]
) -> dict[int, CommitteeReview]:
    """The community's own review of each request in its latest round (one query)."""
    latest: dict[int, CommitteeReview] = {}
    for review in CommitteeReview.objects.filter(
        committee=committee, request__in=[r.pk for r in requests]
    ).order_by("request_id", "review_round"):
        latest[review.request_id] = review
    return latest


def committees_with_counts() -> QuerySet[Committee]:
    """Every committee, both kinds, with its number of members and chairs."""
    return Committee.objects.annotate(
        member_count=Count("members", distinct=True), chair_count=Count("chairs", distinct=True)
    ).order_by("kind", "name")


def committee_for_steward(committee_id: int) -> Committee:
    committee = Committee.objects.filter(pk=committee_id).first()
    if committee is None:
        raise NotFoundError("No such committee.")
    return committee


def committee_people(committee: Committee) -> list[tuple[User, bool]]:
    """(member, is chair) by name."""
    chairs = set(committee.chairs.values_list("pk", flat=True))
    return [(m, m.pk in chairs) for m in committee.members.order_by("full_name", "email")]


def agreements_of(committee: Committee) -> list[DataAccessAgreement]:
    """Every published version of the committee's agreement, newest first."""
    return list(
        DataAccessAgreement.objects.filter(committee=committee)
        .select_related("published_by")
        .order_by("-version")
    )


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip()).first()
