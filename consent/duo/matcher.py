"""Match a research purpose against DUO data-use conditions.

The same rules decide a data-access request (one dataset's conditions) and a consented cohort
(each participant's consent expressed as DUO terms): :func:`match` explains one decision,
:func:`cohort_filter` describes the set of conditions that :func:`match` would approve, so the
database can select the cohort without running the matcher row by row.

Rules (GA4GH DUO 2021-02-23, after the widely used DAC matcher, with its known gaps fixed):

1. Permission: NRES accepts every purpose; GRU accepts GRU, HMB, DS and POA purposes; HMB
   accepts HMB and DS purposes; DS accepts DS purposes whose diseases it covers; POA accepts
   POA purposes only.
2. Disease: a DS condition covers a purpose disease when one of its diseases is that disease or
   an ancestor of it. Every purpose disease must be covered.
3. NPOA denies POA purposes. NMDS denies methods development unless the condition is DS and
   covers the purpose's diseases. NPUNCU, NPU and NCU deny commercial purposes and for-profit
   organisations.
4. GS, TS, US, PS and IS are checked against the request's context; missing context, or no
   pre-approved users/projects/institutions, means review.
5. RS and sensitive research areas mean review.
6. IRB, COL, PUB, MOR, RTN, GSO and CC are obligations; they never deny.

Any deny gives DENY; otherwise any review gives NEEDS_REVIEW; otherwise APPROVE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from consent.duo import terms as duo
from consent.duo.diseases import DiseaseOntology, UnknownDiseaseError, get_ontology


class PrimaryUse(StrEnum):
    """The kind of research a purpose declares, named by its DUO permission shorthand."""

    GRU = "GRU"
    HMB = "HMB"
    DS = "DS"
    POA = "POA"


class Outcome(StrEnum):
    APPROVE = "approve"
    NEEDS_REVIEW = "needs_review"
    DENY = "deny"


class Effect(StrEnum):
    DENY = "deny"
    REVIEW = "review"
    ALLOW = "allow"


class Rule(StrEnum):
    PERMISSION = "permission"
    DISEASE = "disease"
    POPULATION_ANCESTRY = "population_ancestry"
    METHODS = "methods"
    COMMERCIAL = "commercial"
    GEOGRAPHY = "geography"
    TIME_LIMIT = "time_limit"
    USER = "user"
    PROJECT = "project"
    INSTITUTION = "institution"
    RESEARCH_SPECIFIC = "research_specific"
    SENSITIVE = "sensitive"


class InvalidPurposeError(ValueError):
    pass


class InvalidConditionsError(ValueError):
    pass


# Permission codes a condition may carry for each primary use to be accepted.
ACCEPTING_PERMISSIONS: Mapping[PrimaryUse, frozenset[str]] = {
    PrimaryUse.GRU: frozenset({"NRES", "GRU"}),
    PrimaryUse.HMB: frozenset({"NRES", "GRU", "HMB"}),
    PrimaryUse.DS: frozenset({"NRES", "GRU", "HMB", "DS"}),
    PrimaryUse.POA: frozenset({"NRES", "GRU", "POA"}),
}
COMMERCIAL_MODIFIERS: tuple[str, ...] = ("NPUNCU", "NPU", "NCU")
OBLIGATION_MODIFIERS: tuple[str, ...] = ("IRB", "COL", "PUB", "MOR", "RTN", "GSO", "CC")
REVIEW_MODIFIERS: frozenset[str] = frozenset({"RS"})
CONTEXT_MODIFIERS: tuple[str, ...] = ("GS", "TS", "US", "PS", "IS")

# Sensitive research areas: field name on ResearchPurpose -> what the reviewer is told.
SENSITIVE_AREAS: Mapping[str, str] = {
    "controls": "The research uses the data as controls for other studies",
    "population_wide_variation": "The research studies genetic variation across a population",
    "pediatric": "The research concerns children",
    "vulnerable_groups": "The research concerns vulnerable groups",
    "stigmatising_conditions": "The research concerns conditions that may stigmatise people",
    "non_health_aim": "The research has aims outside health",
}

_COUNTRY = re.compile(r"[A-Z]{2}")
_EFFECT_ORDER = {Effect.DENY: 0, Effect.REVIEW: 1, Effect.ALLOW: 2}


@dataclass(frozen=True, slots=True)
class _IdentityRule:
    term: str
    rule: Rule
    purpose_field: str
    conditions_field: str
    noun: str


_IDENTITY_RULES: tuple[_IdentityRule, ...] = (
    _IdentityRule("US", Rule.USER, "user_id", "users", "user"),
    _IdentityRule("PS", Rule.PROJECT, "project_id", "projects", "project"),
    _IdentityRule("IS", Rule.INSTITUTION, "institution_id", "institutions", "institution"),
)


def _frozen_strings(value: Iterable[str], name: str, error: type[ValueError]) -> frozenset[str]:
    if isinstance(value, str):
        raise error(f"{name} must be a collection of strings, not the single string {value!r}.")
    items = frozenset(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise error(f"{name} must contain non-empty strings, got {item!r}.")
    return frozenset(item.strip() for item in items)


def _check_date(value: date | None, name: str, error: type[ValueError]) -> None:
    # datetime is a subclass of date, and comparing the two raises at match time.
    if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
        raise error(f"{name} must be a datetime.date, got {value!r}.")


def _optional_id(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPurposeError(f"{name} must be a string, got {value!r}.")
    return value.strip() or None


def _country(value: str, error: type[ValueError]) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY.fullmatch(code):
        raise error(f"{value!r} is not an ISO 3166-1 alpha-2 country code such as 'GB'.")
    return code


@dataclass(frozen=True)
class ResearchPurpose:
    """What a request (or a cohort query) wants to do with the data, and its context.

    For a single day of use, pass the same date as ``access_start`` and ``access_end``.
    """

    primary: PrimaryUse
    diseases: frozenset[str] = frozenset()
    methods_development: bool = False
    commercial: bool = False
    for_profit_organisation: bool = False
    controls: bool = False
    population_wide_variation: bool = False
    pediatric: bool = False
    vulnerable_groups: bool = False
    stigmatising_conditions: bool = False
    non_health_aim: bool = False
    country: str | None = None
    access_start: date | None = None
    access_end: date | None = None
    user_id: str | None = None
    project_id: str | None = None
    institution_id: str | None = None

    def __post_init__(self) -> None:
        primary = self._primary_use(self.primary)
        diseases = _frozen_strings(self.diseases, "diseases", InvalidPurposeError)
        if primary is PrimaryUse.DS and not diseases:
            raise InvalidPurposeError("A disease specific (DS) purpose needs at least one disease.")
        if primary is not PrimaryUse.DS and diseases:
            raise InvalidPurposeError(
                f"Diseases apply only to disease specific (DS) purposes, not {primary.value}."
            )
        _check_date(self.access_start, "access_start", InvalidPurposeError)
        _check_date(self.access_end, "access_end", InvalidPurposeError)
        if self.access_start and self.access_end and self.access_start > self.access_end:
            raise InvalidPurposeError(
                f"access_start {self.access_start} is after access_end {self.access_end}."
            )
        object.__setattr__(self, "primary", primary)
        object.__setattr__(self, "diseases", diseases)
        if self.country is not None:
            object.__setattr__(self, "country", _country(self.country, InvalidPurposeError))
        for name in ("user_id", "project_id", "institution_id"):
            object.__setattr__(self, name, _optional_id(getattr(self, name), name))

    @staticmethod
    def _primary_use(value: PrimaryUse | str) -> PrimaryUse:
        if isinstance(value, PrimaryUse):
            return value
        try:
            return PrimaryUse(duo.term(value).shorthand)
        except (duo.UnknownTermError, ValueError):
            raise InvalidPurposeError(
                f"{value!r} is not a research purpose: expected one of GRU, HMB, DS or POA."
            ) from None

    @property
    def sensitive_areas(self) -> tuple[str, ...]:
        return tuple(name for name in SENSITIVE_AREAS if getattr(self, name))


@dataclass(frozen=True)
class DataUseConditions:
    """One dataset's (or one participant's) data-use conditions as DUO terms.

    Terms may be given by id or shorthand; they are stored as shorthands.
    """

    permission: str
    diseases: frozenset[str] = frozenset()
    modifiers: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    time_limit: date | None = None
    moratorium_until: date | None = None
    users: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    institutions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        err = InvalidConditionsError
        permission = _current_term(self.permission, duo.TermKind.PERMISSION).shorthand
        modifiers = frozenset(
            _current_term(ref, duo.TermKind.MODIFIER).shorthand
            for ref in _frozen_strings(self.modifiers, "modifiers", err)
        )
        diseases = _frozen_strings(self.diseases, "diseases", err)
        countries = frozenset(
            _country(c, err) for c in _frozen_strings(self.countries, "countries", err)
        )
        if permission == "DS" and not diseases:
            raise err("DS (disease specific research) needs at least one disease.")
        if permission != "DS" and diseases:
            raise err(f"Diseases apply only to DS conditions, not {permission}.")
        if "GS" in modifiers and not countries:
            raise err("GS (geographical restriction) needs at least one country.")
        _check_date(self.time_limit, "time_limit", err)
        _check_date(self.moratorium_until, "moratorium_until", err)
        if "TS" in modifiers and self.time_limit is None:
            raise err("TS (time limit on use) needs an end date in time_limit.")
        if "MOR" in modifiers and self.moratorium_until is None:
            raise err("MOR (publication moratorium) needs a date in moratorium_until.")
        parameters = {
            "GS": ("countries", bool(countries)),
            "TS": ("time_limit", self.time_limit is not None),
            "MOR": ("moratorium_until", self.moratorium_until is not None),
            "US": ("users", bool(self.users)),
            "PS": ("projects", bool(self.projects)),
            "IS": ("institutions", bool(self.institutions)),
        }
        for shorthand, (name, given) in parameters.items():
            if given and shorthand not in modifiers:
                raise err(f"{name} was given but the conditions do not carry {_tag(shorthand)}.")
        object.__setattr__(self, "permission", permission)
        object.__setattr__(self, "modifiers", modifiers)
        object.__setattr__(self, "diseases", diseases)
        object.__setattr__(self, "countries", countries)
        for name in ("users", "projects", "institutions"):
            object.__setattr__(self, name, _frozen_strings(getattr(self, name), name, err))

    @property
    def codes(self) -> tuple[str, ...]:
        """Permission then modifiers, in DUO data order (for display and projections)."""
        return (self.permission, *(t.shorthand for t in duo.modifiers() if t.shorthand in self))

    def __contains__(self, shorthand: object) -> bool:
        return shorthand == self.permission or shorthand in self.modifiers


def _current_term(ref: str, kind: duo.TermKind) -> duo.DuoTerm:
    try:
        found = duo.term(ref)
    except duo.UnknownTermError as exc:
        raise InvalidConditionsError(str(exc)) from None
    if found.obsolete:
        instead = " with ".join(duo.term(c).shorthand for c in found.consider)
        hint = f"; use {instead} instead" if instead else ""
        raise InvalidConditionsError(f"{found.id} ({found.shorthand}) is obsolete{hint}.")
    if found.kind is not kind:
        raise InvalidConditionsError(
            f"{found.shorthand} ({found.label}) is a DUO {found.kind.value}, not a {kind.value}."
        )
    return found


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's finding, worded for both a DAC reviewer and a participant.

    ``term`` is the DUO shorthand the finding concerns and ``subject`` the purpose field
    (``country``, ``pediatric``...), so a page can link the reason to the term or the field.
    """

    rule: Rule
    effect: Effect
    message: str
    term: str | None = None
    subject: str | None = None

    @property
    def term_id(self) -> str | None:
        return duo.term(self.term).id if self.term else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "effect": self.effect.value,
            "term": self.term,
            "term_id": self.term_id,
            "subject": self.subject,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Obligation:
    """Something the applicant must acknowledge or document; never a reason to deny."""

    term: str
    message: str
    until: date | None = None

    @property
    def term_id(self) -> str:
        return duo.term(self.term).id

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "term_id": self.term_id,
            "message": self.message,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    obligations: tuple[Obligation, ...] = ()

    @classmethod
    def from_findings(
        cls, reasons: Iterable[Reason], obligations: Iterable[Obligation] = ()
    ) -> Decision:
        ordered = tuple(sorted(reasons, key=lambda r: _EFFECT_ORDER[r.effect]))
        effects = {r.effect for r in ordered}
        if Effect.DENY in effects:
            outcome = Outcome.DENY
        elif Effect.REVIEW in effects:
            outcome = Outcome.NEEDS_REVIEW
        else:
            outcome = Outcome.APPROVE
        return cls(outcome=outcome, reasons=ordered, obligations=tuple(obligations))

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVE

    def reasons_with(self, effect: Effect) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.effect is effect)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": [o.to_dict() for o in self.obligations],
        }


def _tag(shorthand: str) -> str:
    return f"{shorthand} ({duo.term(shorthand).label})"


def _join(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _labels(disease_ids: Iterable[str], ontology: DiseaseOntology) -> str:
    return _join(sorted((ontology.label(d) for d in disease_ids), key=str.casefold))


def _check_known(disease_ids: Iterable[str], ontology: DiseaseOntology) -> None:
    for disease_id in sorted(disease_ids):
        if disease_id not in ontology:
            raise UnknownDiseaseError(disease_id)


def _uncovered(
    purpose: ResearchPurpose, conditions: DataUseConditions, o: DiseaseOntology
) -> list[str]:
    return sorted(
        d for d in purpose.diseases if not conditions.diseases & o.ancestors(d, include_self=True)
    )


def _purpose_phrase(purpose: ResearchPurpose, ontology: DiseaseOntology) -> str:
    if purpose.primary is PrimaryUse.DS:
        return f"Research on {_labels(purpose.diseases, ontology)}"
    return {
        PrimaryUse.GRU: "General research use",
        PrimaryUse.HMB: "Health, medical or biomedical research",
        PrimaryUse.POA: "Population origins or ancestry research",
    }[purpose.primary]


def _and_subtypes(disease_ids: frozenset[str], ontology: DiseaseOntology) -> str:
    labels = sorted((ontology.label(d) for d in disease_ids), key=str.casefold)
    own = "its" if len(labels) == 1 else "their"
    return _join([*labels, f"{own} subtypes"])


def _permission_scope(conditions: DataUseConditions, ontology: DiseaseOntology) -> str:
    if conditions.permission == "DS":
        return f"limits use to research on {_and_subtypes(conditions.diseases, ontology)}"
    return {
        "HMB": "limits use to health, medical or biomedical research",
        "POA": "limits use to population origins or ancestry research",
    }.get(conditions.permission, "does not cover it")


def _permission_findings(
    purpose: ResearchPurpose, conditions: DataUseConditions, ontology: DiseaseOntology
) -> list[Reason]:
    perm = conditions.permission
    phrase = _purpose_phrase(purpose, ontology)
    if perm not in ACCEPTING_PERMISSIONS[purpose.primary]:
        scope = _permission_scope(conditions, ontology)
        message = f"{phrase} is not permitted: the data carry {_tag(perm)}, which {scope}."
        return [Reason(Rule.PERMISSION, Effect.DENY, message, term=perm)]
    if perm != "DS":
        message = f"{phrase} is permitted: the data carry {_tag(perm)}."
        return [Reason(Rule.PERMISSION, Effect.ALLOW, message, term=perm)]
    covered_by = _labels(conditions.diseases, ontology)
    uncovered = _uncovered(purpose, conditions, ontology)
    if uncovered:
        message = (
            f"Research on {_labels(uncovered, ontology)} is not covered: the data carry "
            f"{_tag('DS')}, which covers only {_and_subtypes(conditions.diseases, ontology)}."
        )
        return [Reason(Rule.DISEASE, Effect.DENY, message, term="DS", subject="diseases")]
    message = f"{phrase} is permitted: the data carry {_tag('DS')} for {covered_by}."
    return [Reason(Rule.DISEASE, Effect.ALLOW, message, term="DS", subject="diseases")]


def _nmds_exempt(
    purpose: ResearchPurpose, conditions: DataUseConditions, ontology: DiseaseOntology
) -> bool:
    return (
        purpose.primary is PrimaryUse.DS
        and conditions.permission == "DS"
        and not _uncovered(purpose, conditions, ontology)
    )


def _restriction_findings(
    purpose: ResearchPurpose, conditions: DataUseConditions, ontology: DiseaseOntology
) -> list[Reason]:
    mods = conditions.modifiers
    found: list[Reason] = []
    if "NPOA" in mods and purpose.primary is PrimaryUse.POA:
        text = (
            f"Population origins or ancestry research is not permitted: the data carry "
            f"{_tag('NPOA')}."
        )
        found.append(Reason(Rule.POPULATION_ANCESTRY, Effect.DENY, text, term="NPOA"))
    if "NMDS" in mods and purpose.methods_development:
        if _nmds_exempt(purpose, conditions, ontology):
            effect, text = (
                Effect.ALLOW,
                (
                    f"Methods development is permitted: it is part of research on "
                    f"{_labels(purpose.diseases, ontology)}, which the DS consent covers; "
                    f"{_tag('NMDS')} rules out only methods research beyond it."
                ),
            )
        else:
            effect, text = (
                Effect.DENY,
                (
                    f"Methods development is not permitted: the data carry {_tag('NMDS')}; it is "
                    f"allowed only within disease specific research that a DS consent covers."
                ),
            )
        found.append(Reason(Rule.METHODS, effect, text, "NMDS", "methods_development"))
    what = _commercial_activity(purpose)
    subject = "commercial" if purpose.commercial else "for_profit_organisation"
    for shorthand in COMMERCIAL_MODIFIERS:
        if what and shorthand in mods:
            text = f"{what} is not permitted: the data carry {_tag(shorthand)}."
            found.append(Reason(Rule.COMMERCIAL, Effect.DENY, text, shorthand, subject))
    if "RS" in mods:
        text = (
            f"The data carry {_tag('RS')}: the data access committee must check the research "
            f"against them."
        )
        found.append(Reason(Rule.RESEARCH_SPECIFIC, Effect.REVIEW, text, term="RS"))
    return found


def _commercial_activity(purpose: ResearchPurpose) -> str:
    if purpose.commercial and purpose.for_profit_organisation:
        return "Commercial use by a for-profit organisation"
    if purpose.commercial:
        return "Commercial use"
    if purpose.for_profit_organisation:
        return "Use by a for-profit organisation"
    return ""


def _geography_finding(purpose: ResearchPurpose, conditions: DataUseConditions) -> Reason:
    allowed = _join(sorted(conditions.countries))
    tag = _tag("GS")
    if purpose.country is None:
        effect = Effect.REVIEW
        message = (
            f"The data carry {tag} to {allowed}, but the request does not say in which "
            f"country the data will be used."
        )
    elif purpose.country not in conditions.countries:
        effect = Effect.DENY
        message = (
            f"Use in {purpose.country} is not permitted: the data carry {tag} "
            f"and may be used only in {allowed}."
        )
    else:
        effect = Effect.ALLOW
        message = f"Use in {purpose.country} is permitted: the data carry {tag} to {allowed}."
    return Reason(Rule.GEOGRAPHY, effect, message, term="GS", subject="country")


def _time_limit_finding(purpose: ResearchPurpose, limit: date) -> Reason:
    tag = _tag("TS")
    start, end = purpose.access_start, purpose.access_end
    if start is not None and start > limit:
        effect = Effect.DENY
        message = (
            f"Use from {start.isoformat()} is not permitted: the data carry {tag} "
            f"and may be used only until {limit.isoformat()}."
        )
    elif end is None:
        effect = Effect.REVIEW
        message = (
            f"The data carry {tag} until {limit.isoformat()}, but the request gives no end "
            f"date for its use of the data."
        )
    elif end > limit:
        effect = Effect.DENY
        message = (
            f"Use until {end.isoformat()} is not permitted: the data carry {tag} "
            f"and may be used only until {limit.isoformat()}."
        )
    else:
        effect = Effect.ALLOW
        message = (
            f"Use until {end.isoformat()} is permitted: the data carry {tag} "
            f"until {limit.isoformat()}."
        )
    return Reason(Rule.TIME_LIMIT, effect, message, term="TS", subject="access_end")


def _identity_finding(
    rule: _IdentityRule, purpose: ResearchPurpose, conditions: DataUseConditions
) -> Reason:
    allowed: frozenset[str] = getattr(conditions, rule.conditions_field)
    value: str | None = getattr(purpose, rule.purpose_field)
    tag = _tag(rule.term)
    if not allowed:
        effect = Effect.REVIEW
        message = (
            f"The data carry {tag} and no {rule.noun} is approved in advance: "
            f"the data access committee must approve the {rule.noun}."
        )
    elif value is None:
        effect = Effect.REVIEW
        message = f"The data carry {tag}, but the request does not name the {rule.noun}."
    elif value not in allowed:
        effect = Effect.DENY
        message = (
            f"The {rule.noun} {value} is not approved: the data carry {tag} "
            f"and may be used only by an approved {rule.noun}."
        )
    else:
        effect = Effect.ALLOW
        message = f"The {rule.noun} {value} is approved under {tag}."
    return Reason(rule.rule, effect, message, term=rule.term, subject=rule.purpose_field)


def _context_findings(purpose: ResearchPurpose, conditions: DataUseConditions) -> list[Reason]:
    mods = conditions.modifiers
    found: list[Reason] = []
    if "GS" in mods:
        found.append(_geography_finding(purpose, conditions))
    if "TS" in mods and conditions.time_limit is not None:
        found.append(_time_limit_finding(purpose, conditions.time_limit))
    found.extend(
        _identity_finding(rule, purpose, conditions)
        for rule in _IDENTITY_RULES
        if rule.term in mods
    )
    return found


def _sensitive_findings(purpose: ResearchPurpose) -> list[Reason]:
    suffix = "a sensitive area that the data access committee must review."
    return [
        Reason(Rule.SENSITIVE, Effect.REVIEW, f"{SENSITIVE_AREAS[name]}: {suffix}", subject=name)
        for name in purpose.sensitive_areas
    ]


_OBLIGATION_TEXT: Mapping[str, str] = {
    "MOR": "Do not publish results from the data before the moratorium ends.",
    "IRB": "Provide documentation that an ethics committee (IRB/ERB) approved the project.",
    "COL": "Collaborate with the investigators who collected the data.",
    "PUB": "Make the results of the research public.",
    "RTN": "Return derived or enriched data to the database or resource the data came from.",
    "GSO": "Use the data for genetic studies only, not for studies of traits alone.",
    "CC": "The consent also allows clinical care use; any clinical use must follow the data "
    "holder's conditions for it.",
}


def _obligations(conditions: DataUseConditions) -> tuple[Obligation, ...]:
    found: list[Obligation] = []
    for shorthand in OBLIGATION_MODIFIERS:
        if shorthand not in conditions.modifiers:
            continue
        until = conditions.moratorium_until if shorthand == "MOR" else None
        if until is not None:
            text = f"Do not publish results from the data before {until.isoformat()}."
        else:
            text = _OBLIGATION_TEXT[shorthand]
        found.append(Obligation(shorthand, text, until=until))
    return tuple(found)


def match(
    purpose: ResearchPurpose,
    conditions: DataUseConditions,
    *,
    ontology: DiseaseOntology | None = None,
) -> Decision:
    """Decide whether ``conditions`` permit ``purpose``; raises UnknownDiseaseError."""
    onto = ontology if ontology is not None else get_ontology()
    _check_known(purpose.diseases | conditions.diseases, onto)
    reasons = [
        *_permission_findings(purpose, conditions, onto),
        *_restriction_findings(purpose, conditions, onto),
        *_context_findings(purpose, conditions),
        *_sensitive_findings(purpose),
    ]
    return Decision.from_findings(reasons, _obligations(conditions))


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The parts of a purpose that GS, TS, US, PS and IS are checked against."""

    country: str | None = None
    access_start: date | None = None
    access_end: date | None = None
    user_id: str | None = None
    project_id: str | None = None
    institution_id: str | None = None

    @classmethod
    def of(cls, purpose: ResearchPurpose) -> RequestContext:
        return cls(**{f.name: getattr(purpose, f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: value.isoformat() if isinstance(value, date) else value
            for f in fields(self)
            for value in [getattr(self, f.name)]
        }


@dataclass(frozen=True)
class CohortFilter:
    """Which data-use conditions :func:`match` approves for one purpose, as plain sets.

    A condition row (permission, diseases, modifiers, parameters) is accepted when all hold:

    - ``purpose_needs_review`` is false (a sensitive purpose is never approved automatically);
    - its permission is in ``accepted_permissions``;
    - if its permission is DS, its diseases intersect *every* set in
      ``ds_disease_requirements`` -- one set per purpose disease, holding that disease and its
      ancestors, so every purpose disease is covered by some consented disease.
      ``accepted_ds_diseases`` is the union of those sets: for a single purpose disease,
      intersecting it is the whole test; for several, it is a necessary pre-filter only;
    - its modifiers do not intersect ``denying_modifiers``, except those in
      ``ds_exempt_modifiers`` when its permission is DS (NMDS for disease research);
    - its modifiers do not intersect ``review_modifiers``;
    - each of its modifiers in ``context_modifiers`` is satisfied by its parameters and
      ``context``: GS lists ``context.country``; TS ends on or after ``context.access_end``;
      US/PS/IS list ``context.user_id``/``project_id``/``institution_id``.

    A projection without parameter columns can stay exact for everything else and treat
    ``context_modifiers`` as excluding (those participants then need :func:`match`).
    """

    accepted_permissions: frozenset[str]
    accepted_ds_diseases: frozenset[str] = frozenset()
    ds_disease_requirements: tuple[frozenset[str], ...] = ()
    denying_modifiers: frozenset[str] = frozenset()
    ds_exempt_modifiers: frozenset[str] = frozenset()
    review_modifiers: frozenset[str] = frozenset()
    context_modifiers: frozenset[str] = frozenset()
    context: RequestContext = field(default_factory=RequestContext)
    purpose_needs_review: bool = False

    def accepts(self, conditions: DataUseConditions) -> bool:
        if self.purpose_needs_review or conditions.permission not in self.accepted_permissions:
            return False
        is_ds = conditions.permission == "DS"
        if is_ds and not all(conditions.diseases & req for req in self.ds_disease_requirements):
            return False
        blocking = (
            self.denying_modifiers - self.ds_exempt_modifiers if is_ds else self.denying_modifiers
        )
        mods = conditions.modifiers
        if mods & (blocking | self.review_modifiers):
            return False
        return all(self._context_allows(m, conditions) for m in mods & self.context_modifiers)

    def _context_allows(self, modifier: str, conditions: DataUseConditions) -> bool:
        ctx = self.context
        if modifier == "GS":
            return ctx.country in conditions.countries
        if modifier == "TS":
            limit = conditions.time_limit
            return limit is not None and ctx.access_end is not None and ctx.access_end <= limit
        for rule in _IDENTITY_RULES:
            if modifier == rule.term:
                return getattr(ctx, rule.purpose_field) in getattr(
                    conditions, rule.conditions_field
                )
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted_permissions": sorted(self.accepted_permissions),
            "accepted_ds_diseases": sorted(self.accepted_ds_diseases),
            "ds_disease_requirements": [sorted(req) for req in self.ds_disease_requirements],
            "denying_modifiers": sorted(self.denying_modifiers),
            "ds_exempt_modifiers": sorted(self.ds_exempt_modifiers),
            "review_modifiers": sorted(self.review_modifiers),
            "context_modifiers": sorted(self.context_modifiers),
            "context": self.context.to_dict(),
            "purpose_needs_review": self.purpose_needs_review,
        }


def cohort_filter(
    purpose: ResearchPurpose, *, ontology: DiseaseOntology | None = None
) -> CohortFilter:
    """Describe, as sets, the conditions for which :func:`match` returns APPROVE."""
    onto = ontology if ontology is not None else get_ontology()
    _check_known(purpose.diseases, onto)
    requirements = tuple(onto.ancestors(d, include_self=True) for d in sorted(purpose.diseases))
    denying: set[str] = set()
    exempt: set[str] = set()
    if purpose.primary is PrimaryUse.POA:
        denying.add("NPOA")
    if purpose.methods_development:
        denying.add("NMDS")
        if purpose.primary is PrimaryUse.DS:
            exempt.add("NMDS")
    if purpose.commercial or purpose.for_profit_organisation:
        denying.update(COMMERCIAL_MODIFIERS)
    review = set(REVIEW_MODIFIERS)
    context = set(CONTEXT_MODIFIERS)
    missing = {
        "GS": purpose.country is None,
        # With a start after the limit TS denies, so it still depends on the parameter.
        "TS": purpose.access_end is None and purpose.access_start is None,
        "US": purpose.user_id is None,
        "PS": purpose.project_id is None,
        "IS": purpose.institution_id is None,
    }
    for modifier, absent in missing.items():
        if absent:
            context.discard(modifier)
            review.add(modifier)
    return CohortFilter(
        accepted_permissions=ACCEPTING_PERMISSIONS[purpose.primary],
        accepted_ds_diseases=frozenset().union(*requirements),
        ds_disease_requirements=requirements,
        denying_modifiers=frozenset(denying),
        ds_exempt_modifiers=frozenset(exempt),
        review_modifiers=frozenset(review),
        context_modifiers=frozenset(context),
        context=RequestContext.of(purpose),
        purpose_needs_review=bool(purpose.sensitive_areas),
    )
