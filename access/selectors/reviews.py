"""Reads for committee review: a review's datasets, its match, quorum and votes."""

from __future__ import annotations

from dataclasses import dataclass

from access import permissions
from access.models import AccessRequest, CommitteeReview, Vote
from access.purpose import request_match
from consent.duo import Decision, Outcome
from datasets.models import Dataset, Sample


def review_datasets(review: CommitteeReview) -> list[Dataset]:
    """A DAC reviews the requested datasets it governs; a community, those holding its
    members' samples."""
    requested = Dataset.objects.filter(access_requests=review.request_id)
    if review.committee.is_community:
        holding = Sample.objects.filter(community=review.committee).values("dataset_id")
        return list(requested.filter(pk__in=holding).order_by("accession"))
    return list(requested.filter(committee=review.committee).order_by("accession"))


def combined_outcome(decisions: list[Decision | None]) -> Outcome | None:
    if not decisions or any(d is None for d in decisions):
        return None
    outcomes = {d.outcome for d in decisions if d is not None}
    for worst in (Outcome.DENY, Outcome.NEEDS_REVIEW):
        if worst in outcomes:
            return worst
    return Outcome.APPROVE


def review_match(request: AccessRequest, datasets: list[Dataset]) -> Outcome | None:
    """The automated match over the review's datasets; None if the purpose is incomplete."""
    return combined_outcome([request_match(request, d) for d in datasets])


@dataclass(frozen=True)
class QuorumState:
    eligible: int
    votes: int
    needed: int

    @property
    def reached(self) -> bool:
        return self.votes >= self.needed


def quorum_state(review: CommitteeReview) -> QuorumState:
    """Votes by members who may vote, against the committee's quorum (default: a majority)."""
    members = list(review.committee.members.all())
    recused = permissions.recusals(review, members)
    eligible = [m for m in members if m.pk not in recused]
    eligible_ids = {m.pk for m in eligible}
    votes = Vote.objects.filter(review=review, member_id__in=eligible_ids).count()
    configured = review.committee.quorum
    needed = configured if configured else len(eligible) // 2 + 1
    return QuorumState(eligible=len(eligible), votes=votes, needed=max(needed, 1))
