"""Who may see, edit, review, decide and revoke each request, grant and ethics document.

The only module that imports django-guardian. Two sources of rights:

- per person, on the request object (guardian): the applicant holds `change` and `view`,
  each co-applicant who accepted holds `view`;
- per committee: members of a committee reviewing the request see it once submitted,
  vote unless recused, and its chairs decide and revoke. Membership is read at each
  check, so a member who leaves loses access at once.

Stewards see everything and change nothing here. Views, the API and templates ask these
functions (templates through booleans the view passes); nothing else decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from access.models import (
    AccessRequest,
    CoApplicant,
    CommitteeReview,
    Delivery,
    Grant,
    InvitationStatus,
    RequestStatus,
)
from datasets.models import Committee
from portal.models import Role, User

VIEW = "access.view_accessrequest"
CHANGE = "access.change_accessrequest"

# A request is the applicant's own business until it is submitted.
_COMMITTEE_VISIBLE = [s for s in RequestStatus.values if s != RequestStatus.DRAFT]


def grant_applicant(user: User, request: AccessRequest) -> None:
    assign_perm("view_accessrequest", user, request)
    assign_perm("change_accessrequest", user, request)


def grant_coapplicant(user: User, request: AccessRequest) -> None:
    assign_perm("view_accessrequest", user, request)


def revoke_coapplicant(user: User, request: AccessRequest) -> None:
    remove_perm("view_accessrequest", user, request)


def _authenticated(user: User | object) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_steward(user: User) -> bool:
    return _authenticated(user) and user.has_role(Role.STEWARD)


def _person_perms(user: User, request: AccessRequest) -> set[str]:
    if not _authenticated(user):
        return set()
    # ModelBackend + guardian's backend: one query per (user, object), cached on the user.
    return {p for p in (VIEW, CHANGE) if user.has_perm(p, request)}


def is_applicant(user: User, request: AccessRequest) -> bool:
    return CHANGE in _person_perms(user, request)


def reviewing_committees(user: User, request: AccessRequest) -> QuerySet[Committee]:
    """The committees reviewing this request (any round) that the user sits on."""
    if not _authenticated(user) or request.status == RequestStatus.DRAFT:
        return Committee.objects.none()
    return Committee.objects.filter(reviews__request=request, members=user).distinct()


def chaired_committees(user: User, request: AccessRequest) -> QuerySet[Committee]:
    if not _authenticated(user) or request.status == RequestStatus.DRAFT:
        return Committee.objects.none()
    return Committee.objects.filter(reviews__request=request, chairs=user).distinct()


def visible_requests(user: User) -> QuerySet[AccessRequest]:
    """Every request the user may open: their own, co-applied, reviewed by their committees."""
    if not _authenticated(user):
        return AccessRequest.objects.none()
    if is_steward(user):
        return AccessRequest.objects.all()
    own = get_objects_for_user(user, VIEW, klass=AccessRequest, accept_global_perms=False)
    reviewed = CommitteeReview.objects.filter(request=OuterRef("pk"), committee__members=user)
    return AccessRequest.objects.filter(
        Q(pk__in=own.values("pk")) | (Q(status__in=_COMMITTEE_VISIBLE) & Exists(reviewed))
    )


@dataclass(frozen=True)
class RequestRights:
    """What one person may do with one request, worked out once per page."""

    view: bool
    edit: bool
    act_as_applicant: bool
    view_internal: bool
    member_of: frozenset[int]
    chair_of: frozenset[int]
    steward: bool

    @property
    def reviewer(self) -> bool:
        return bool(self.member_of)

    @property
    def oversees_deliveries(self) -> bool:
        """Sees every delivery and link under the request's grants."""
        return self.reviewer or self.steward

    @property
    def revokes_deliveries(self) -> bool:
        """Stops any delivery's links (a link leaked) without revoking the grant."""
        return bool(self.chair_of) or self.steward

    def sees_internal_of(self, committee_id: int | None) -> bool:
        """Votes and reviewers' comments of one committee: its own members and stewards only
        (a community sees nothing of another community's deliberation)."""
        return self.steward or committee_id in self.member_of


def request_rights(user: User, request: AccessRequest) -> RequestRights:
    perms = _person_perms(user, request)
    member_of = frozenset(reviewing_committees(user, request).values_list("pk", flat=True))
    chair_of = frozenset(chaired_committees(user, request).values_list("pk", flat=True))
    steward = is_steward(user)
    applicant = CHANGE in perms
    return RequestRights(
        view=bool(perms) or bool(member_of) or steward,
        edit=applicant and request.is_editable,
        act_as_applicant=applicant,
        # Votes and reviewers' comments: committees and stewards, never the applicants.
        view_internal=bool(member_of) or steward,
        member_of=member_of,
        chair_of=chair_of,
        steward=steward,
    )


def can_view_request(user: User, request: AccessRequest) -> bool:
    return request_rights(user, request).view


def can_view_ethics(user: User, request: AccessRequest) -> bool:
    return can_view_request(user, request)


def recusals(review: CommitteeReview, users: Iterable[User]) -> dict[int, str]:
    """Why each of these members may not vote on this review (conflict of interest)."""
    request = review.request
    invited = CoApplicant.objects.filter(request=request).exclude(
        status__in=[InvitationStatus.DECLINED, InvitationStatus.CANCELLED]
    )
    invited_ids, invited_emails = set(), set()
    for user_id, email in invited.values_list("user_id", "email"):
        invited_ids.add(user_id)
        invited_emails.add(email.casefold())
    institution = request.institution.strip().casefold()
    same_institution = review.committee.recuse_same_institution and bool(institution)
    reasons: dict[int, str] = {}
    for user in users:
        if request.applicant_id == user.pk:
            reasons[user.pk] = "You are the applicant."
        elif user.pk in invited_ids or user.email.casefold() in invited_emails:
            reasons[user.pk] = "You are a co-applicant."
        elif same_institution and user.institution.strip().casefold() == institution:
            reasons[user.pk] = f"You are from the applicant's institution ({request.institution})."
    return reasons


def recusal_reason(user: User, review: CommitteeReview) -> str | None:
    return recusals(review, [user]).get(user.pk)


def is_member(user: User, committee: Committee) -> bool:
    return _authenticated(user) and committee.members.filter(pk=user.pk).exists()


def is_chair(user: User, committee: Committee) -> bool:
    return _authenticated(user) and committee.chairs.filter(pk=user.pk).exists()


def visible_grants(user: User) -> QuerySet[Grant]:
    """Grants the user may see: their own, their committees' and, for stewards, all."""
    if not _authenticated(user):
        return Grant.objects.none()
    if is_steward(user):
        return Grant.objects.all()
    return Grant.objects.filter(Q(grantee=user) | Q(review__committee__members=user)).distinct()


def can_see_community_use(user: User, committee: Committee) -> bool:
    """A community committee sees the use of its members' data, and nothing of others."""
    return committee.is_community and (is_member(user, committee) or is_steward(user))


@dataclass(frozen=True)
class DeliveryRights:
    """What one person may do with one delivery: its links are credentials, so only its
    requester holds them; committees and stewards see the record and may stop them."""

    view: bool
    revoke: bool
    own: bool


def delivery_rights(user: User, delivery: Delivery) -> DeliveryRights:
    """The requester, the members of a committee reviewing the request (chairs revoke) and
    stewards; a co-applicant sees only their own deliveries."""
    if not _authenticated(user):
        return DeliveryRights(view=False, revoke=False, own=False)
    own = delivery.requested_by_id == user.pk
    rights = request_rights(user, delivery.grant.request)
    return DeliveryRights(
        view=own or rights.oversees_deliveries,
        revoke=own or rights.revokes_deliveries,
        own=own,
    )
