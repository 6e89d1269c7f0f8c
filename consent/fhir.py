"""Consent records as HL7 FHIR R4 Consent resources (mapping in PRODUCT.md)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings

from consent.duo import term
from consent.meanings import PERMISSION_COLUMNS, consent_terms
from consent.models import ConsentRecord, ConsentStatus, CurrentConsent

FHIR_CONTENT_TYPE = "application/fhir+json"
DUO_SYSTEM = "http://purl.obolibrary.org/obo/duo.owl"
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"


def _duo(shorthand: str, note: str = "") -> dict[str, str]:
    duo_term = term(shorthand)
    display = f"{duo_term.label}{f' ({note})' if note else ''}"
    return {"system": DUO_SYSTEM, "code": duo_term.id, "display": display}


def _provisions(record: ConsentRecord) -> list[dict[str, Any]]:
    """Nested provisions: each research kind permitted or denied, then the restrictions."""
    meanings = dict(record.version.choices.values_list("key", "meaning"))
    terms = consent_terms(meanings, record.answers, country=record.version.document.country)
    nested = [
        {"type": "permit" if code in terms.permissions else "deny", "purpose": [_duo(code)]}
        for code in PERMISSION_COLUMNS
    ]
    # A restriction in force is a permit under that data-use modifier.
    if terms.non_commercial_only:
        nested.append({"type": "permit", "purpose": [_duo("NPUNCU")]})
    if terms.in_country_only:
        nested.append({"type": "permit", "purpose": [_duo("GS", terms.country)]})
    return nested


def consent_resource(record: ConsentRecord, *, in_force: bool) -> dict[str, Any]:
    """The FHIR Consent for one record; `in_force` when it is the participant's current one."""
    participant = record.participant
    withdrawn_from_use = record.withdrawal_level == ConsentStatus.NO_USE
    active = in_force and not withdrawn_from_use
    patient = {
        "identifier": {"system": f"{settings.SITE_URL}/study-id", "value": participant.study_id},
        "display": participant.study_id,
    }
    performer = (
        {"reference": f"RelatedPerson/{record.proxy_id}", "display": record.proxy.full_name}
        if record.proxy_id
        else patient
    )
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": f"consent-record-{record.pk}",
        "meta": {"versionId": str(record.sequence)},
        "identifier": [
            {"system": f"{settings.SITE_URL}/consent-record", "value": record.record_hash}
        ],
        "status": "active" if active else "inactive",
        "scope": {"coding": [{"system": SCOPE_SYSTEM, "code": "research"}]},
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "research"}]}],
        "patient": patient,
        "dateTime": record.created_at.astimezone(UTC).isoformat(),
        "performer": [performer],
        "policy": [{"uri": f"{settings.SITE_URL}/consent/versions/{record.version_id}"}],
        "provision": {
            "type": "deny" if withdrawn_from_use else "permit",
            "provision": [] if withdrawn_from_use else _provisions(record),
        },
    }
    if not resource["provision"]["provision"]:
        del resource["provision"]["provision"]
    return resource


def current_consent_resource(current: CurrentConsent) -> dict[str, Any]:
    resource = consent_resource(current.record, in_force=True)
    if current.suspended:
        # Suspended until re-consent to a newer version: not in force now.
        resource["status"] = "inactive"
    return resource
