"""Committee review: members vote, the chair decides; the request follows its DACs.

A request is approved once every DAC reviewing it in this round has decided and at least
one approved (grants are made for the approved DACs' datasets), rejected when all rejected,
and returned as soon as one DAC asks for changes. Community committees decide on their
members' samples only: until one approves, those samples count as not consenting.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access import permissions
from access.models import (
    AccessRequest,
    CommitteeReview,
    EventKind,
    Grant,
    RequestStatus,
    ReviewDecision,
    Vote,
    VoteChoice,
)
from access.notifications import notify
from access.selectors.agreements import has_accepted_all, signatories
from access.selectors.reviews import (
    QuorumState,
    quorum_state,
    review_datasets,
    review_match,
)
from access.services.base import AccessActions, AccessConflict, AccessError, event, locked, move
from access.services.questions import request_questions_withdraw
from consent.duo import Outcome
from datasets.models import Dataset
from portal.audit import audit_log
from portal.exceptions import NotFoundError, PermissionError_, StaleStateError
from portal.models import User

DECISIONS = frozenset({ReviewDecision.APPROVED, ReviewDecision.REJECTED, ReviewDecision.RETURNED})


def _locked_review(review: CommitteeReview) -> tuple[AccessRequest, CommitteeReview]:
    request = locked(review.request)
    review = CommitteeReview.objects.select_related("committee").get(pk=review.pk)
    review.request = request
    return request, review


def _require_open(request: AccessRequest, review: CommitteeReview, doing: str) -> None:
    if review.review_round != request.review_round or review.decision == ReviewDecision.SUPERSEDED:
        raise AccessConflict(
            f"This review belongs to an earlier round of the request: {doing} on the current one."
        )
    if review.decision != ReviewDecision.PENDING:
        raise AccessConflict(
            f"The {review.committee.name} has already decided "
            f"({review.get_decision_display().lower()}): {doing} is closed."
        )
    open_states = {RequestStatus.UNDER_REVIEW}
    if review.committee.is_community:
        # A community may decide after the DACs approved: its members' samples wait for it.
        open_states.add(RequestStatus.APPROVED)
    if request.status not in open_states:
        raise AccessConflict(
            f"The request is {request.get_status_display().lower()}: {doing} is closed."
        )


def vote_cast(*, actor: User, review: CommitteeReview, choice: str, rationale: str) -> Vote:
    """A member's vote with a rationale; casting again changes it, until the decision."""
    rationale = (rationale or "").strip()
    if choice not in VoteChoice.values:
        raise AccessError("Vote approve or reject.", code="invalid")
    if not rationale:
        raise AccessError("Give the rationale for your vote.", code="invalid")
    with transaction.atomic(durable=True):
        request, review = _locked_review(review)
        if not permissions.can_view_request(actor, request):
            raise NotFoundError("No such access request.")
        if not permissions.is_member(actor, review.committee):
            raise PermissionError_(
                f"Only members of the {review.committee.name} vote on its review."
            )
        recused = permissions.recusal_reason(actor, review)
        if recused:
            raise PermissionError_(f"You are recused from this review: {recused}")
        _require_open(request, review, "voting")
        vote, created = Vote.objects.update_or_create(
            review=review,
            member=actor,
            defaults={"choice": choice, "rationale": rationale, "cast_at": timezone.now()},
        )
        event(
            request,
            EventKind.VOTE,
            actor=actor,
            committee=review.committee,
            comment=f"{'Voted' if created else 'Changed the vote to'} {choice}: {rationale}",
            internal=True,
        )
        audit_log(
            actor=actor,
            action=AccessActions.VOTE,
            target=vote,
            after={"review": review.pk, "choice": choice},
        )
    return vote


def default_grant_end(datasets: list[Dataset], today: dt.date) -> dt.date:
    end = today + dt.timedelta(days=settings.CUSTODIAN_GRANT_DAYS)
    limits = [d.time_limit for d in datasets if d.time_limit and "TS" in d.modifiers]
    return min([end, *limits])


def _check_grant_end(end: dt.date, datasets: list[Dataset], today: dt.date) -> None:
    if end < today:
        raise AccessError(f"The end of access ({end}) is in the past.", code="invalid")
    for dataset in datasets:
        if "TS" in dataset.modifiers and dataset.time_limit and end > dataset.time_limit:
            raise AccessError(
                f"The end of access ({end}) is after {dataset.accession}'s time limit (TS) of "
                f"{dataset.time_limit}: choose {dataset.time_limit} or earlier.",
                code="past_time_limit",
            )


def review_decide(
    *,
    actor: User,
    review: CommitteeReview,
    decision: str,
    comment: str = "",
    justification: str = "",
    grant_end: dt.date | None = None,
    conditions: str = "",
) -> CommitteeReview:
    """The chair records the committee's decision.

    1. lock the request; 2. refuse a non-chair, a closed review and a missing quorum;
    3. an approval that departs from the automated match (or a rejection of a match that
    approves) needs a written justification; 4. record, then move the request if this
    decision completes its DACs' decisions, creating the grants on approval.
    """
    comment, justification, conditions = (
        (comment or "").strip(),
        (justification or "").strip(),
        (conditions or "").strip(),
    )
    if decision not in DECISIONS:
        raise AccessError("Decide approve, reject or return for changes.", code="invalid")
    today = timezone.localdate()
    with transaction.atomic(durable=True):
        request, review = _locked_review(review)
        committee = review.committee
        if not permissions.can_view_request(actor, request):
            raise NotFoundError("No such access request.")
        if not permissions.is_chair(actor, committee):
            raise PermissionError_(f"Only a chair of the {committee.name} records its decision.")
        _require_open(request, review, "deciding")
        if decision == ReviewDecision.RETURNED and committee.is_community:
            raise AccessError(
                "A community committee approves or rejects the use of its members' data.",
                code="invalid",
            )
        if decision == ReviewDecision.RETURNED and not comment:
            raise AccessError("Say what the applicant should change.", code="invalid")
        quorum: QuorumState = quorum_state(review)
        if not quorum.reached:
            raise AccessConflict(
                f"No quorum yet: {quorum.votes} of {quorum.needed} needed votes "
                f"({quorum.eligible} members may vote)."
            )
        datasets = review_datasets(review)
        outcome = review_match(request, datasets)
        # A community decides by its own authority (CARE), not by the datasets' DUO terms.
        departs = not committee.is_community and (
            (decision == ReviewDecision.APPROVED and outcome != Outcome.APPROVE)
            or (decision == ReviewDecision.REJECTED and outcome == Outcome.APPROVE)
        )
        if departs and not justification:
            said = outcome.value.upper() if outcome else "nothing (the purpose is incomplete)"
            raise AccessError(
                f"The automated match says {said}: explain in writing why the committee "
                "decides otherwise.",
                code="justification_required",
            )
        if decision == ReviewDecision.APPROVED and not committee.is_community:
            grant_end = grant_end or default_grant_end(datasets, today)
            _check_grant_end(grant_end, datasets, today)
        else:
            grant_end = None
        updated = CommitteeReview.objects.filter(
            pk=review.pk, decision=ReviewDecision.PENDING
        ).update(
            decision=decision,
            decided_by=actor,
            decided_at=timezone.now(),
            comment=comment,
            justification=justification,
            match_outcome=outcome.value if outcome else "",
            grant_end=grant_end,
            conditions=conditions,
        )
        if updated != 1:
            raise StaleStateError("This request changed since you loaded it. Reload the page.")
        review.refresh_from_db()
        event(
            request,
            EventKind.COMMITTEE_DECISION,
            actor=actor,
            committee=committee,
            comment=f"{committee.name}: {review.get_decision_display()}"
            + (f". {comment}" if comment else ""),
        )
        audit_log(
            actor=actor,
            action=AccessActions.DECIDE,
            target=review,
            after={
                "decision": decision,
                "match": review.match_outcome,
                "justification": justification,
                "grant_end": grant_end,
            },
        )
        _follow_decisions(request, review, actor)
    return review


def _request_url(request: AccessRequest) -> str:
    return reverse("access:request", kwargs={"accession": request.accession})


def _follow_decisions(request: AccessRequest, review: CommitteeReview, actor: User) -> None:
    applicants = signatories(request)
    if review.committee.is_community:
        notify(
            users=applicants,
            message=f"The {review.committee.name} {review.get_decision_display().lower()} "
            f"the use of its members' data for {request.accession}.",
            url=_request_url(request),
            template="access/email/notice.txt",
        )
        return
    if review.decision == ReviewDecision.RETURNED:
        CommitteeReview.objects.filter(
            request=request, review_round=request.review_round, decision=ReviewDecision.PENDING
        ).update(decision=ReviewDecision.SUPERSEDED)
        move(
            request,
            RequestStatus.RETURNED,
            actor=actor,
            comment=review.comment,
            committee=review.committee,
        )
        request_questions_withdraw(request=request, reason="the request was returned for changes")
        notify(
            users=applicants,
            message=f"{request.accession} was returned for changes: {review.comment}",
            url=_request_url(request),
            template="access/email/decision.txt",
            context={"request": request, "review": review},
        )
        return
    dac_reviews = list(
        CommitteeReview.objects.filter(
            request=request, review_round=request.review_round, committee__kind="dac"
        ).select_related("committee")
    )
    if any(r.decision == ReviewDecision.PENDING for r in dac_reviews):
        return
    approved = [r for r in dac_reviews if r.decision == ReviewDecision.APPROVED]
    if approved:
        move(request, RequestStatus.APPROVED, actor=actor, extra={"decided_at": timezone.now()})
        _create_grants(request, approved, actor)
    else:
        move(
            request,
            RequestStatus.REJECTED,
            actor=actor,
            comment=review.comment,
            extra={"decided_at": timezone.now()},
        )
        request_questions_withdraw(request=request, reason="the request was rejected")
    notify(
        users=applicants,
        message=f"{request.accession} was {request.get_status_display().lower()}.",
        url=_request_url(request),
        template="access/email/decision.txt",
        context={"request": request, "review": review},
    )


def _create_grants(request: AccessRequest, reviews: list[CommitteeReview], actor: User) -> None:
    """A grant per approved dataset for the applicant and each co-applicant who accepted the
    agreements (someone who has not accepted gets none)."""
    today = timezone.localdate()
    people = [p for p in signatories(request) if has_accepted_all(request, p)]
    grants = [
        Grant(
            request=request,
            review=review,
            dataset=dataset,
            grantee=person,
            starts_on=today,
            ends_on=review.grant_end or today,
            conditions=review.conditions,
        )
        for review in reviews
        for dataset in review_datasets(review)
        for person in people
    ]
    Grant.objects.bulk_create(grants)
    audit_log(
        actor=actor,
        action=AccessActions.GRANT_CREATE,
        target=request,
        after={
            "grants": [
                {"dataset": g.dataset_id, "grantee": g.grantee_id, "ends_on": g.ends_on}
                for g in grants
            ]
        },
    )
