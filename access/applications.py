"""The application as people read it: the research purpose in words, and the PDF copy."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from access.models import AccessRequest, PrimaryUse, SensitiveArea
from consent.duo import UnknownDiseaseError, get_ontology


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def disease_labels(disease_ids: list[str]) -> list[str]:
    ontology = get_ontology()
    labels = []
    for disease_id in disease_ids:
        try:
            labels.append(f"{ontology.label(disease_id)} ({disease_id})")
        except UnknownDiseaseError:
            labels.append(disease_id)
    return labels


def purpose_in_words(request: AccessRequest) -> list[tuple[str, str]]:
    """The structured research purpose as (question, answer) rows, in the form's order."""
    primary = (
        f"{PrimaryUse(request.primary_use).label} ({request.primary_use})"
        if request.primary_use in PrimaryUse.values
        else "Not given"
    )
    areas = [SensitiveArea(a).label for a in request.sensitive_areas if a in SensitiveArea.values]
    return [
        ("Primary use", primary),
        ("Diseases", ", ".join(disease_labels(request.diseases)) or "None"),
        ("Methods development", _yes_no(request.methods_development)),
        ("Commercial purpose", _yes_no(request.commercial)),
        ("For-profit organisation", _yes_no(request.for_profit_organisation)),
        ("Countries of use", ", ".join(request.countries) or "Not given"),
        ("Sensitive areas", "; ".join(areas) or "None"),
        ("Institution", request.institution or "Not given"),
        (
            "Access wanted until",
            request.access_end.strftime("%-d %B %Y") if request.access_end else "Not given",
        ),
    ]


def application_pdf(context: dict[str, Any]) -> bytes:
    # weasyprint takes half a second to import; only this path needs it.
    from weasyprint import HTML

    return HTML(string=render_to_string("access/request_pdf.html", context)).write_pdf()
