"""A participant checks their own consent record in their browser (issue 14): the page gives
the record, its sealed audit entry, the inclusion proof and the signed checkpoint, and
static/consent/verify.js checks them with Web Crypto, trusting nothing the portal says. The
same proof downloads as a file the participant keeps with their receipt."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from consent import selectors
from consent.models import ConsentRecord
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


def proof_filename(record: ConsentRecord) -> str:
    return f"consent-record-{record.participant.study_id}-{record.sequence}-proof.json"


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def receipt_proof(request: HttpRequest, record_id: int) -> HttpResponse:
    """The record's inclusion proof and the signed checkpoint it leads to, as a file: what the
    check page verifies, to keep beside the receipt. Before sealing, the check page's "wait a
    few seconds" in words, with 409."""
    record = get_object_or_404(
        selectors.participant_records(acting_participant(request)).select_related("participant"),
        pk=record_id,
    )
    seal = record_seal(record)
    if seal is None:
        context = {"record": record, "seal": None, "verification": None}
        return render(request, "consent/receipt_verify.html", context, status=409)
    response = JsonResponse(seal.for_browser(record), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{proof_filename(record)}"'
    return response
