"""The access request's life, as one table used by every path (web, API, tasks, admin)."""

from __future__ import annotations

from access.models import DeliveryStatus, OfficialAnswer, RequestStatus
from portal.transitions import StateTable

S = RequestStatus

# Approval and rejection follow the committees' decisions; revocation is a chair's act and
# expiry a matter of time (a beat task records it; grants stop at their end regardless).
REQUEST_TRANSITIONS = StateTable(
    {
        S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
        S.SUBMITTED: frozenset({S.UNDER_REVIEW, S.WITHDRAWN}),
        S.UNDER_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
        S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
        S.APPROVED: frozenset({S.REVOKED, S.EXPIRED}),
        S.REJECTED: frozenset(),
        S.WITHDRAWN: frozenset(),
        S.REVOKED: frozenset(),
        S.EXPIRED: frozenset(),
    },
    actions={
        S.SUBMITTED: "accessrequest.submitted",
        S.UNDER_REVIEW: "accessrequest.under_review",
        S.RETURNED: "accessrequest.returned",
        S.APPROVED: "accessrequest.approved",
        S.REJECTED: "accessrequest.rejected",
        S.WITHDRAWN: "accessrequest.withdrawn",
        S.REVOKED: "accessrequest.revoked",
        S.EXPIRED: "accessrequest.expired",
    },
)

D = DeliveryStatus

# A delivery is prepared once. Whether its links still work (expiry, revocation, consent) is
# decided at each download, so READY needs no further states.
DELIVERY_TRANSITIONS = StateTable(
    {
        D.PREPARING: frozenset({D.READY, D.FAILED}),
        D.READY: frozenset(),
        D.FAILED: frozenset(),
    },
    actions={D.READY: "delivery.ready", D.FAILED: "delivery.failed"},
)

A = OfficialAnswer

# A signing official answers once. Asking again cancels a request still waiting (its link stops
# working); a confirmed status ends with time, never by a state change.
OFFICIAL_TRANSITIONS = StateTable(
    {
        A.PENDING: frozenset({A.CONFIRMED, A.DECLINED, A.CANCELLED}),
        A.CONFIRMED: frozenset(),
        A.DECLINED: frozenset(),
        A.CANCELLED: frozenset(),
    },
    actions={
        A.CONFIRMED: "signingofficialconfirmation.confirmed",
        A.DECLINED: "signingofficialconfirmation.declined",
        A.CANCELLED: "signingofficialconfirmation.cancelled",
    },
)
