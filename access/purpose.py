"""A request's research purpose in the matcher's terms, and its match against a dataset.

The matcher takes one country per purpose; a request may name several countries of use,
so it is matched once per country and the outcomes combine: every country must be
allowed (a DENY anywhere denies, then NEEDS_REVIEW, else APPROVE). A participant consents
to the request when their consent is approved for every country (see selectors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from access.models import AccessRequest, PrimaryUse
from consent.duo import (
    Decision,
    DiseaseOntology,
    InvalidPurposeError,
    ResearchPurpose,
    UnknownDiseaseError,
    get_ontology,
    match,
)
from consent.duo.matcher import SENSITIVE_AREAS
from datasets.models import Dataset


def research_purposes(
    request: AccessRequest, *, today: dt.date | None = None
) -> list[ResearchPurpose]:
    """One matcher purpose per country of use (one without a country if none is named).

    Raises InvalidPurposeError or UnknownDiseaseError when the purpose is incomplete.
    """
    if not request.primary_use:
        raise InvalidPurposeError("Choose the primary use of the data.")
    start = request.submitted_at.date() if request.submitted_at else (today or timezone.localdate())
    common: dict[str, Any] = {
        "primary": request.primary_use,
        "diseases": frozenset(request.diseases if request.primary_use == PrimaryUse.DS else ()),
        "methods_development": request.methods_development,
        "commercial": request.commercial,
        "for_profit_organisation": request.for_profit_organisation,
        **{area: area in request.sensitive_areas for area in SENSITIVE_AREAS},
        "access_start": start,
        "access_end": request.access_end,
        "user_id": request.applicant.email,
        "project_id": request.accession,
        "institution_id": request.institution or None,
    }
    countries: Iterable[str | None] = sorted(request.countries) or [None]
    return [ResearchPurpose(country=country, **common) for country in countries]


def combined_match(
    purposes: list[ResearchPurpose], dataset: Dataset, *, ontology: DiseaseOntology | None = None
) -> Decision:
    """The dataset's conditions against every purpose; reasons kept once each, in order."""
    onto = ontology if ontology is not None else get_ontology()
    conditions = dataset.conditions
    decisions = [match(p, conditions, ontology=onto) for p in purposes]
    reasons = list(dict.fromkeys(r for d in decisions for r in d.reasons))
    return Decision.from_findings(reasons, decisions[0].obligations if decisions else ())


def request_match(request: AccessRequest, dataset: Dataset) -> Decision | None:
    """The automated match, or None when the purpose is not complete enough to match."""
    try:
        return combined_match(research_purposes(request), dataset)
    except (InvalidPurposeError, UnknownDiseaseError):
        return None
