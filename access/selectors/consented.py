"""Which of a dataset's samples a request may use now, and why the others are out.

Everything here is one SQL query per question asked (never a loop over participants), so
the review page and the delivery task see the same answer at 100,000 samples:

- the participant's current consent must be approved by the matcher for the request's
  purpose, for every country of use (the consent projection's cohort filter);
- or the participant answered "ask me each time" and, for this request, said yes to every
  question raised, on the consent they still hold;
- "no further use" withdrawals and suspended consents are always out; unlinked samples are
  out; a community's samples are out until its governance committee approved the request.

The beacon's tiers reuse the same filters: a request's (`consenting_sample_q`) for the
registered and controlled tiers, `public_sample_q` for anonymous queries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When

from access.models import AccessRequest, CommitteeReview, RequestQuestion, ReviewDecision
from access.purpose import research_purposes
from consent.duo import InvalidPurposeError, PrimaryUse, ResearchPurpose, UnknownDiseaseError
from consent.duo.matcher import SENSITIVE_AREAS
from consent.meanings import cohort_q, prefixed
from consent.models import ConsentStatus, Participant, QuestionStatus, allows_use_q
from datasets.models import CommitteeKind, Dataset, LinkStatus, Sample
from datasets.selectors import SMALL_COUNT, display_count
from portal.audit import state_version

_CONSENT = "current_consent__"
# A stale entry cannot be read (its key holds the ledger head); this only bounds memory.
BREAKDOWN_CACHE_SECONDS = 3600
_NOBODY = Q(pk__in=[])


def consent_purposes(request: AccessRequest) -> list[ResearchPurpose]:
    """The purposes a participant's own consent is checked against.

    Sensitive areas send a request to the committee; they are not something a participant
    consented to or refused, so once the committee has reviewed the request they do not
    take anybody out of the cohort.
    """
    plain: dict[str, Any] = dict.fromkeys(SENSITIVE_AREAS, False)
    return [replace(p, **plain) for p in research_purposes(request)]


def consenting_consent_q(request: AccessRequest) -> Q:
    """A filter on CurrentConsent: consent that permits the request's purpose in every country."""
    try:
        purposes = consent_purposes(request)
    except (InvalidPurposeError, UnknownDiseaseError):
        return _NOBODY
    q = Q()
    for purpose in purposes:
        q &= cohort_q(purpose)
    return q


def _questions(request: AccessRequest) -> QuerySet[RequestQuestion]:
    return RequestQuestion.objects.filter(
        request=request,
        participant=OuterRef("participant"),
        consent_sequence=OuterRef(f"{_CONSENT}sequence"),
    )


def said_yes_q(request: AccessRequest) -> Q:
    """Samples whose participant answered yes to every question raised for this request."""
    questions = _questions(request)
    not_yes = questions.exclude(question__status=QuestionStatus.ANSWERED, question__answer="yes")
    return Q(Exists(questions)) & Q(~Exists(not_yes)) & allows_use_q(_CONSENT)


def asked_q(request: AccessRequest) -> Q:
    """Samples whose participant has a question for this request (answered or not)."""
    return Q(Exists(_questions(request)))


def approved_communities(request: AccessRequest) -> QuerySet[CommitteeReview, Any]:
    """The ids of the communities whose committee approved the request, as a subquery (the
    filters below carry it into their own query instead of a round trip of their own)."""
    return CommitteeReview.objects.filter(
        request=request,
        review_round=request.review_round,
        committee__kind=CommitteeKind.COMMUNITY,
        decision=ReviewDecision.APPROVED,
    ).values("committee_id")


def _community_ok(request: AccessRequest) -> Q:
    return Q(community__isnull=True) | Q(community_id__in=approved_communities(request))


def consenting_sample_q(request: AccessRequest) -> Q:
    """A filter on Sample: the samples this request may use now (any dataset)."""
    consent = prefixed(consenting_consent_q(request), _CONSENT) | said_yes_q(request)
    return Q(link=LinkStatus.LINKED) & _community_ok(request) & consent


def consenting_samples(request: AccessRequest, dataset: Dataset) -> QuerySet[Sample]:
    return Sample.objects.filter(Q(dataset=dataset) & consenting_sample_q(request))


def consenting_participants(request: AccessRequest) -> QuerySet[Participant]:
    """Participants whose samples in the request's datasets the request may use now."""
    samples = Sample.objects.filter(
        Q(dataset__in=request.datasets.all()) & consenting_sample_q(request)
    )
    return Participant.objects.filter(pk__in=samples.values("participant_id"))


# --- the review page's breakdown ---------------------------------------------------------------


class Exclusion:
    """Why a sample is out, in the order the review page explains them."""

    UNLINKED = "unlinked"
    COMMUNITY = "community"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    SUSPENDED = "suspended"
    CONSENTING = "consenting"
    ASK_PENDING = "ask_pending"
    NARROWER = "narrower"


EXCLUSION_TEXT = {
    Exclusion.UNLINKED: "not linked to a participant (never delivered)",
    Exclusion.COMMUNITY: "community approval pending",
    Exclusion.NO_CONSENT: "no consent recorded",
    Exclusion.WITHDRAWN: "withdrawn (no further use)",
    Exclusion.SUSPENDED: "consent suspended until the participant reviews a new version",
    Exclusion.ASK_PENDING: "“ask me each time”: not answered yes yet",
    Exclusion.NARROWER: "consent does not cover this purpose",
}


@dataclass(frozen=True)
class ConsentBreakdown:
    total: int
    consenting: int
    excluded: dict[str, int]

    @property
    def consenting_display(self) -> str:
        return display_count(self.consenting)

    @property
    def excluded_rows(self) -> list[tuple[str, str]]:
        """(reason, count safe to show) for each reason that applies, in order."""
        return [
            (EXCLUSION_TEXT[key], display_count(n))
            for key in EXCLUSION_TEXT
            if (n := self.excluded.get(key, 0))
        ]

    @property
    def suppressed(self) -> bool:
        return self.consenting < SMALL_COUNT


def consent_breakdown(request: AccessRequest, dataset: Dataset) -> ConsentBreakdown:
    """Counts of the dataset's samples by the first reason that keeps each out.

    One aggregate over the dataset's samples, cached under `state_version`: every change
    (a consent change, an answer, a link, a decision) is audited and moves it, so a cached
    count is never older than the last change.
    """
    key = f"access:breakdown:{request.pk}:{dataset.pk}:{state_version()}"
    breakdown = cache.get(key)
    if breakdown is None:
        breakdown = _breakdown(request, dataset)
        cache.set(key, breakdown, timeout=BREAKDOWN_CACHE_SECONDS)
    return breakdown


def _breakdown(request: AccessRequest, dataset: Dataset) -> ConsentBreakdown:
    consent = prefixed(consenting_consent_q(request), _CONSENT) | said_yes_q(request)
    category = Case(
        When(~Q(link=LinkStatus.LINKED), then=Value(Exclusion.UNLINKED)),
        When(~_community_ok(request), then=Value(Exclusion.COMMUNITY)),
        # On a non-null column of the joined row: "current_consent IS NULL" would test only
        # the sample's own participant_id.
        When(**{f"{_CONSENT}sequence__isnull": True}, then=Value(Exclusion.NO_CONSENT)),
        When(**{f"{_CONSENT}status": ConsentStatus.NO_USE}, then=Value(Exclusion.WITHDRAWN)),
        When(**{f"{_CONSENT}suspended": True}, then=Value(Exclusion.SUSPENDED)),
        When(consent, then=Value(Exclusion.CONSENTING)),
        When(asked_q(request), then=Value(Exclusion.ASK_PENDING)),
        default=Value(Exclusion.NARROWER),
        output_field=CharField(),
    )
    rows = (
        Sample.objects.filter(dataset=dataset)
        .annotate(category=category)
        .values("category")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["category"]: row["n"] for row in rows}
    consenting = counts.pop(Exclusion.CONSENTING, 0)
    return ConsentBreakdown(
        total=consenting + sum(counts.values()), consenting=consenting, excluded=counts
    )


# --- the beacon's tiers --------------------------------------------------------------------------

# The public tier's purpose: general research use, with no country, user or project named,
# so only participants who allow any country and any (non-commercial) user count.
PUBLIC_PURPOSE = ResearchPurpose(primary=PrimaryUse.GRU)


def public_sample_q() -> Q:
    """A filter on Sample: who an anonymous beacon query may count.

    General research use approved by the matcher, consent "active" (any withdrawal, even
    "no further contact", keeps a participant out of public answers), linked, and not a
    community's sample (no community approves anonymous use).
    """
    consent = prefixed(cohort_q(PUBLIC_PURPOSE), _CONSENT) & Q(
        **{f"{_CONSENT}status": ConsentStatus.ACTIVE}
    )
    return Q(link=LinkStatus.LINKED, community__isnull=True) & consent
