"""Consent records as HL7 FHIR R4 Consent resources, and the portal's own CodeSystem.

A Consent shows everything a consumer needs (mapping documented in README, "FHIR Consent"):

- `status`: active while the record is in force and the data may be used (also after a
  withdrawal at "no further contact" or "no further access"); inactive when superseded,
  suspended until re-consent, or withdrawn at "no further use".
- `provision.type`: permit, or deny after "no further use".
- one nested provision per choice of the version: `code` = [the choice, the answer] from
  the portal's CodeSystem (so "ask me each time" and "no" read apart), `purpose` = the DUO
  term it grants or the restriction it leaves in force (a GS restriction carries the country
  as an ISO 3166 code), `type` = whether use is permitted without asking.
- the DUO restrictions nobody was asked about (they stay in force), marked "not-asked".
- a withdrawal: one nested deny provision coded with its level; contact-type choices become
  deny from "no further contact" on, new data collection is denied from "no further access".
- a proxy: a contained RelatedPerson as the performer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.conf import settings

from consent.duo import term
from consent.meanings import PERMISSIONS
from consent.models import (
    Answer,
    ChoiceMeaning,
    ConsentRecord,
    CurrentConsent,
    ParticipantProxy,
    WithdrawalLevel,
)
from portal.models import User

FHIR_CONTENT_TYPE = "application/fhir+json"
DUO_SYSTEM = "http://purl.obolibrary.org/obo/duo.owl"
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
COUNTRY_SYSTEM = "urn:iso:std:iso:3166"
CODE_SYSTEM_ID = "custodian-consent"
CODE_SYSTEM_VERSION = "1"


def code_system_url() -> str:
    """The canonical URL of the portal's CodeSystem, served there as a FHIR resource."""
    return f"{settings.SITE_URL}/fhir/CodeSystem/{CODE_SYSTEM_ID}"


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    definition: str


# Every code of the CodeSystem, in three groups. Codes never change meaning once published;
# a new meaning gets a new code and a new CODE_SYSTEM_VERSION.
CHOICE_CONCEPTS = {
    ChoiceMeaning.GENERAL_RESEARCH: Concept(
        "general-research",
        "Any research",
        "The choice whether the data may be used for any research (DUO:0000042 GRU).",
    ),
    ChoiceMeaning.HEALTH_RESEARCH: Concept(
        "health-research",
        "Health and medical research",
        "The choice whether the data may be used for health, medical or biomedical research "
        "(DUO:0000006 HMB).",
    ),
    ChoiceMeaning.ANCESTRY_RESEARCH: Concept(
        "ancestry-research",
        "Population origins or ancestry research",
        "The choice whether the data may be used for population origins or ancestry research "
        "(DUO:0000011 POA).",
    ),
    ChoiceMeaning.COMMERCIAL_USE: Concept(
        "commercial-use",
        "Commercial use",
        "The choice whether the data may be used commercially or by for-profit organisations; "
        "unless the answer is yes, use is limited to not-for-profit, non-commercial use "
        "(DUO:0000018 NPUNCU).",
    ),
    ChoiceMeaning.INTERNATIONAL_USE: Concept(
        "international-use",
        "Use outside the country",
        "The choice whether the data may be used outside the study's country; unless the "
        "answer is yes, use is limited to that country (DUO:0000022 GS).",
    ),
    ChoiceMeaning.RECONTACT: Concept(
        "recontact",
        "Being contacted again",
        "The choice whether the participant may be contacted again about the study or new "
        "studies. Not covered by DUO.",
    ),
    ChoiceMeaning.RETURN_OF_RESULTS: Concept(
        "return-of-results",
        "Return of research results",
        "The choice whether research results about the participant are returned to them. "
        "Not covered by DUO.",
    ),
    ChoiceMeaning.ADDITIONAL_FINDINGS: Concept(
        "additional-findings",
        "Additional (incidental) findings",
        "The choice whether findings beyond the research question (incidental or secondary "
        "findings) are returned to the participant. Not covered by DUO.",
    ),
    ChoiceMeaning.SAMPLE_STORAGE: Concept(
        "sample-storage",
        "Storing samples for future use",
        "The choice whether the participant's samples may be stored for future research. "
        "Not covered by DUO.",
    ),
}
ANSWER_CONCEPTS = {
    Answer.YES: Concept("answer-yes", "Yes", "The participant answered yes."),
    Answer.NO: Concept("answer-no", "No", "The participant answered no."),
    Answer.ASK: Concept(
        "answer-ask",
        "Ask me each time",
        "The participant asked to be asked before each such use: not permitted without "
        "their answer to that use, and not a refusal.",
    ),
}
NOT_ASKED = Concept(
    "not-asked",
    "Not asked",
    "The consent form did not ask about this use: a restriction stays in force and a kind of "
    "research stays denied, since nobody agreed to lift it.",
)
WITHDRAWAL_CONCEPTS = {
    WithdrawalLevel.NO_CONTACT: Concept(
        "no-further-contact",
        "Withdrawn: no further contact",
        "The participant is not contacted again; their data and samples stay in use.",
    ),
    WithdrawalLevel.NO_ACCESS: Concept(
        "no-further-access",
        "Withdrawn: no further access",
        "The participant is not contacted again and no new data is collected or linked; "
        "data already held stays in use.",
    ),
    WithdrawalLevel.NO_USE: Concept(
        "no-further-use",
        "Withdrawn: no further use",
        "The participant's data is never released again; analyses already done cannot be undone.",
    ),
}
# Choices whose use is contacting the participant: denied from "no further contact" on.
CONTACT_MEANINGS = frozenset(
    {
        ChoiceMeaning.RECONTACT,
        ChoiceMeaning.RETURN_OF_RESULTS,
        ChoiceMeaning.ADDITIONAL_FINDINGS,
    }
)


def _coding(concept: Concept) -> dict[str, str]:
    return {"system": code_system_url(), "code": concept.code, "display": concept.display}


def _duo(shorthand: str) -> dict[str, str]:
    duo_term = term(shorthand)
    return {"system": DUO_SYSTEM, "code": duo_term.id, "display": duo_term.label}


def _action(code: str) -> dict[str, Any]:
    return {"coding": [{"system": ACTION_SYSTEM, "code": code}]}


def _country(code: str) -> dict[str, Any]:
    return {"coding": [{"system": COUNTRY_SYSTEM, "code": code}], "text": code}


def _choice_provision(
    meaning: str, question: str, answer: str, country: str, withdrawn: bool
) -> dict[str, Any]:
    """One choice: `code` = [choice, answer]; `type` = permitted without asking, or not."""
    concept = CHOICE_CONCEPTS[ChoiceMeaning(meaning)]
    provision: dict[str, Any] = {
        "type": "permit" if answer == Answer.YES else "deny",
        "code": [
            {"coding": [_coding(concept)], "text": question},
            {"coding": [_coding(ANSWER_CONCEPTS[Answer(answer)])]},
        ],
    }
    if meaning in PERMISSIONS:
        provision["purpose"] = [_duo(PERMISSIONS[ChoiceMeaning(meaning)])]
    elif meaning == ChoiceMeaning.COMMERCIAL_USE and answer != Answer.YES:
        # Not a refusal of all use: use is permitted, limited to non-commercial purposes.
        provision["type"] = "permit"
        provision["purpose"] = [_duo("NPUNCU")]
    elif meaning == ChoiceMeaning.INTERNATIONAL_USE and answer != Answer.YES:
        provision["type"] = "permit"
        provision["purpose"] = [_duo("GS")]
        provision["code"].append(_country(country))
    # Every withdrawal level includes "no further contact".
    if meaning in CONTACT_MEANINGS and withdrawn:
        provision["type"] = "deny"
    return provision


def _not_asked(meanings: set[str], country: str) -> list[dict[str, Any]]:
    """What applies although the form never asked: denied research, restrictions in force."""
    not_asked = {"coding": [_coding(NOT_ASKED)]}
    provisions: list[dict[str, Any]] = [
        {"type": "deny", "purpose": [_duo(code)], "code": [not_asked]}
        for meaning, code in PERMISSIONS.items()
        if meaning not in meanings
    ]
    if ChoiceMeaning.COMMERCIAL_USE not in meanings:
        provisions.append({"type": "permit", "purpose": [_duo("NPUNCU")], "code": [not_asked]})
    if ChoiceMeaning.INTERNATIONAL_USE not in meanings:
        provisions.append(
            {"type": "permit", "purpose": [_duo("GS")], "code": [not_asked, _country(country)]}
        )
    return provisions


def _withdrawal_provision(level: WithdrawalLevel) -> dict[str, Any]:
    provision: dict[str, Any] = {
        "type": "deny",
        "code": [{"coding": [_coding(WITHDRAWAL_CONCEPTS[level])]}],
    }
    if level == WithdrawalLevel.NO_ACCESS:
        provision["action"] = [_action("collect")]
    elif level == WithdrawalLevel.NO_USE:
        provision["action"] = [_action(code) for code in ("collect", "access", "use", "disclose")]
    return provision


def _provisions(record: ConsentRecord, level: WithdrawalLevel | None) -> list[dict[str, Any]]:
    withdrawn = level is not None
    country = record.version.document.country
    choices = list(record.version.choices.all())
    nested = [
        _choice_provision(c.meaning, c.question, record.answers[c.key], country, withdrawn)
        for c in choices
        if c.key in record.answers
    ]
    nested += _not_asked({c.meaning for c in choices}, country)
    if level is not None:
        nested.append(_withdrawal_provision(level))
    return nested


def _proxy(record: ConsentRecord, proxy: User, patient: dict[str, Any]) -> dict[str, Any]:
    link = (
        ParticipantProxy.objects.filter(participant_id=record.participant_id, proxy=proxy)
        .order_by("-linked_at")
        .first()
    )
    relationship = link.relationship if link else "parent or guardian"
    return {
        "resourceType": "RelatedPerson",
        "id": "proxy",
        "patient": patient,
        "relationship": [
            {"coding": [{"system": ROLE_SYSTEM, "code": "GUARD", "display": "guardian"}]},
            {"text": relationship},
        ],
        "name": [{"text": proxy.full_name}],
    }


def consent_resource(record: ConsentRecord, *, in_force: bool) -> dict[str, Any]:
    """The FHIR Consent for one record; `in_force` when it is the participant's current one."""
    participant = record.participant
    level = WithdrawalLevel(record.withdrawal_level) if record.withdrawal_level else None
    withdrawn_from_use = level == WithdrawalLevel.NO_USE
    active = in_force and not withdrawn_from_use
    patient = {
        "identifier": {"system": f"{settings.SITE_URL}/study-id", "value": participant.study_id},
        "display": participant.study_id,
    }
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": f"consent-record-{record.pk}",
        "meta": {"versionId": str(record.sequence)},
    }
    proxy = record.proxy
    performer: dict[str, Any] = patient
    if proxy is not None:
        resource["contained"] = [_proxy(record, proxy, patient)]
        performer = {"reference": "#proxy", "display": proxy.full_name}
    resource |= {
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
            "provision": (
                [_withdrawal_provision(WithdrawalLevel.NO_USE)]
                if withdrawn_from_use
                else _provisions(record, level)
            ),
        },
    }
    return resource


def current_consent_resource(current: CurrentConsent) -> dict[str, Any]:
    resource = consent_resource(current.record, in_force=True)
    if current.suspended:
        # Suspended until re-consent to a newer version: not in force now.
        resource["status"] = "inactive"
    return resource


def code_system_resource() -> dict[str, Any]:
    """The CodeSystem every Consent's own codes belong to, served at its canonical URL."""
    groups = [
        *CHOICE_CONCEPTS.values(),
        *ANSWER_CONCEPTS.values(),
        NOT_ASKED,
        *WITHDRAWAL_CONCEPTS.values(),
    ]
    return {
        "resourceType": "CodeSystem",
        "id": CODE_SYSTEM_ID,
        "url": code_system_url(),
        "version": CODE_SYSTEM_VERSION,
        "name": "CustodianConsent",
        "title": "Custodian consent choices, answers and withdrawal levels",
        "status": "active",
        "experimental": False,
        "publisher": "Custodian",
        "description": (
            "Codes used in Custodian's FHIR Consent resources for what GA4GH DUO does not "
            "cover: each consent choice, the participant's answer to it (yes, no, or ask me "
            "each time), uses the consent form did not ask about, and the three withdrawal "
            "levels."
        ),
        "caseSensitive": True,
        "content": "complete",
        "count": len(groups),
        "concept": [
            {"code": c.code, "display": c.display, "definition": c.definition} for c in groups
        ],
    }
