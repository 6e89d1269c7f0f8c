"""Writes on access requests, co-applicants, agreements, reviews and grants.

One module per concern; import the services from here.
"""

from __future__ import annotations

from access.services.base import AccessActions, AccessConflict, AccessError, AccessProblems
from access.services.coapplicants import (
    agreement_publish,
    agreements_accept,
    coapplicant_answer,
    coapplicant_cancel,
    coapplicant_invite,
    invitation_from_token,
    invitation_token,
)
from access.services.deliveries import (
    delivery_fail,
    delivery_prepare,
    delivery_request,
    delivery_revoke,
)
from access.services.grants import access_requests_expire, grants_revoke, vote_reminders_send
from access.services.notices import notifications_mark_read
from access.services.requests import (
    access_request_create,
    access_request_renew,
    access_request_review_start,
    access_request_submit,
    access_request_update,
    access_request_withdraw,
    ethics_upload,
    submission_problems,
)
from access.services.reviews import review_decide, vote_cast

__all__ = [
    "AccessActions",
    "AccessConflict",
    "AccessError",
    "AccessProblems",
    "access_request_create",
    "access_request_renew",
    "access_request_review_start",
    "access_request_submit",
    "access_request_update",
    "access_request_withdraw",
    "access_requests_expire",
    "agreement_publish",
    "agreements_accept",
    "coapplicant_answer",
    "coapplicant_cancel",
    "coapplicant_invite",
    "delivery_fail",
    "delivery_prepare",
    "delivery_request",
    "delivery_revoke",
    "ethics_upload",
    "grants_revoke",
    "invitation_from_token",
    "invitation_token",
    "notifications_mark_read",
    "review_decide",
    "submission_problems",
    "vote_cast",
    "vote_reminders_send",
]
