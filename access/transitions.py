"""The access request's life, as one table used by every path (web, API, tasks, admin)."""

from __future__ import annotations

from access.models import DeliveryStatus, OfficialAnswer, RequestStatus

S = RequestStatus

# Approval and rejection follow the committees' decisions; revocation is a chair's act and
# expiry a matter of time (a beat task records it; grants stop at their end regardless).
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.UNDER_REVIEW, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.REVOKED, S.EXPIRED}),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
}

D = DeliveryStatus

# A delivery is prepared once. Whether its links still work (expiry, revocation, consent) is
# decided at each download, so READY needs no further states.
DELIVERY_TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    D.PREPARING: frozenset({D.READY, D.FAILED}),
    D.READY: frozenset(),
    D.FAILED: frozenset(),
}

A = OfficialAnswer

# A signing official answers once. Asking again cancels a request still waiting (its link stops
# working); a confirmed status ends with time, never by a state change.
OFFICIAL_TRANSITIONS: dict[OfficialAnswer, frozenset[OfficialAnswer]] = {
    A.PENDING: frozenset({A.CONFIRMED, A.DECLINED, A.CANCELLED}),
    A.CONFIRMED: frozenset(),
    A.DECLINED: frozenset(),
    A.CANCELLED: frozenset(),
}
