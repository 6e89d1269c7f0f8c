"""A participant checks their own consent record in their browser (issue 14): the page gives
the record, its sealed audit entry, the inclusion proof and the signed checkpoint, and
static/consent/verify.js checks them with Web Crypto, trusting nothing the portal says."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from consent import selectors
from consent.selectors.verification import record_seal
from consent.views.common import acting_participant
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def receipt_verify(request: HttpRequest, record_id: int) -> HttpResponse:
    record = get_object_or_404(
        selectors.participant_records(acting_participant(request)), pk=record_id
    )
    seal = record_seal(record)
    context = {
        "record": record,
        "seal": seal,
        "verification": seal.for_browser(record) if seal else None,
    }
    return render(request, "consent/receipt_verify.html", context)
