"""The stewards' view of the transparency log's witnesses: who holds a copy of which
checkpoint, and which witness keeps failing (staff pages may stay English)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.decorators import role_required
from portal.ledger import checkpoint_latest
from portal.models import Role
from portal.witnesses import witness_states


@role_required(Role.STEWARD)
@require_GET
def ledger_witnesses(request: HttpRequest) -> HttpResponse:
    context = {"latest": checkpoint_latest(), "witnesses": witness_states()}
    return render(request, "portal/ledger_witnesses.html", context)
