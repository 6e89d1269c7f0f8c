"""The beacon's query form for people, in the catalogue: the same tiers, budgets and audit as
the API (it calls the same code), the answer in words, and how to apply for access."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from access import beacon
from access.selectors.beacon import may_ask_records
from access.views.beacon import answer_query
from datasets.selectors import SMALL_COUNT
from portal.exceptions import PortalError

KIND_CHOICES = [("allele", _("One allele")), ("range", _("A region"))]
TYPE_CHOICES = [("", _("Any kind")), *((t, t) for t in ("SNP", "MNP", "DEL", "INS", "INDEL"))]


class BeaconQueryForm(forms.Form):
    """Positions are 1-based here, as in a VCF and a genome browser; the API's are 0-based."""

    assembly = forms.ChoiceField(
        label=_("Reference assembly"), choices=[("GRCh38", "GRCh38"), ("GRCh37", "GRCh37")]
    )
    chromosome = forms.CharField(label=_("Chromosome"), max_length=20, initial="1")
    kind = forms.ChoiceField(
        label=_("Ask about"), choices=KIND_CHOICES, widget=forms.RadioSelect, initial="allele"
    )
    position = forms.IntegerField(label=_("Position (first base, 1-based)"), min_value=1)
    reference = forms.CharField(
        label=_("Reference bases"), max_length=1000, required=False, help_text=_("e.g. A")
    )
    alternate = forms.CharField(
        label=_("Alternate bases"), max_length=1000, required=False, help_text=_("e.g. G")
    )
    end = forms.IntegerField(
        label=_("Region end (last base, 1-based)"), min_value=1, required=False
    )
    variant_type = forms.ChoiceField(
        label=_("Kind of variant"), choices=TYPE_CHOICES, required=False
    )
    granularity = forms.ChoiceField(
        label=_("Answer"),
        choices=[("boolean", _("Yes or no")), ("count", _("Counts"))],
        initial="boolean",
    )

    def parameters(self) -> dict[str, Any]:
        data = self.cleaned_data
        found: dict[str, Any] = {
            "assemblyId": data["assembly"],
            "referenceName": data["chromosome"],
            "start": data["position"] - 1,
            "requestedGranularity": data["granularity"],
        }
        if data["kind"] == "allele":
            found |= {"referenceBases": data["reference"], "alternateBases": data["alternate"]}
            if not data["alternate"]:
                found["alternateBases"] = ""
        else:
            found["end"] = data["end"] if data["end"] is not None else ""
            if data["variant_type"]:
                found["variantType"] = data["variant_type"]
        return found


@require_http_methods(["GET", "POST"])
def beacon_query(request: HttpRequest) -> HttpResponse:
    """GET shows the form; POST asks (a query spends budget and is audited, so it is a POST)."""
    form = BeaconQueryForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        "form": form,
        "small": SMALL_COUNT,
        "max_range": f"{beacon.MAX_RANGE:,}",
        "may_ask_records": may_ask_records(request.user),
    }
    status = 200
    if request.method == "POST" and form.is_valid():
        parameters = form.parameters()
        base_url = request.build_absolute_uri("/").rstrip("/")
        try:
            document, answer = answer_query(
                request, lambda: beacon.parse_query(parameters), base_url
            )
        except PortalError as exc:
            context["problem"] = exc.message
            status = exc.http_status
        else:
            context |= {"document": document, "answer": answer, "info": document["info"]}
            context["datasets"] = _datasets(answer)
    elif request.method == "POST":
        status = 400
    return render(request, "access/beacon.html", context, status=status)


def _datasets(answer: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for found in answer.datasets:
        if found.exists:
            seen.setdefault(
                found.file.accession,
                {"accession": found.file.accession, "title": found.file.title, "tier": found.tier},
            )
    return list(seen.values())
