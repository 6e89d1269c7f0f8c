"""GA4GH DUO terms, a pluggable disease ontology, and the purpose/conditions matcher.

Pure Python: nothing here imports Django, so the rules can be used by services, tasks and
management commands alike, and tested without a database.
"""

from __future__ import annotations

from consent.duo.diseases import (
    DiseaseOntology,
    DiseaseOntologyError,
    DiseaseTerm,
    JsonDiseaseOntology,
    UnknownDiseaseError,
    get_ontology,
    set_ontology,
    shipped_ontology,
    use_ontology,
)
from consent.duo.matcher import (
    CohortFilter,
    DataUseConditions,
    Decision,
    Effect,
    InvalidConditionsError,
    InvalidPurposeError,
    Obligation,
    Outcome,
    PrimaryUse,
    Reason,
    RequestContext,
    ResearchPurpose,
    Rule,
    cohort_filter,
    match,
)
from consent.duo.terms import (
    DuoDataError,
    DuoTerm,
    TermKind,
    TermParameter,
    UnknownTermError,
    all_terms,
    ancestors,
    modifiers,
    permissions,
    release,
    term,
)

__all__ = [
    "CohortFilter",
    "DataUseConditions",
    "Decision",
    "DiseaseOntology",
    "DiseaseOntologyError",
    "DiseaseTerm",
    "DuoDataError",
    "DuoTerm",
    "Effect",
    "InvalidConditionsError",
    "InvalidPurposeError",
    "JsonDiseaseOntology",
    "Obligation",
    "Outcome",
    "PrimaryUse",
    "Reason",
    "RequestContext",
    "ResearchPurpose",
    "Rule",
    "TermKind",
    "TermParameter",
    "UnknownDiseaseError",
    "UnknownTermError",
    "all_terms",
    "ancestors",
    "cohort_filter",
    "get_ontology",
    "match",
    "modifiers",
    "permissions",
    "release",
    "set_ontology",
    "shipped_ontology",
    "term",
    "use_ontology",
]
