"""What a participant's answers mean in DUO terms, for the projection and the matcher.

Only "yes" permits: "no" and "ask me each time" both keep a use out of automatic
approval (an "ask" answer becomes a question to the participant when a request needs it).
A restriction the consent form never asked about is applied: nobody agreed to lift it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from django.db.models import Q

from consent.duo import DataUseConditions, ResearchPurpose, cohort_filter
from consent.duo.matcher import COMMERCIAL_MODIFIERS
from consent.models import Answer, ChoiceMeaning, allows_use_q

PERMISSIONS = {
    ChoiceMeaning.GENERAL_RESEARCH: "GRU",
    ChoiceMeaning.HEALTH_RESEARCH: "HMB",
    ChoiceMeaning.ANCESTRY_RESEARCH: "POA",
}
PERMISSION_COLUMNS = {"GRU": "permits_gru", "HMB": "permits_hmb", "POA": "permits_poa"}


@dataclass(frozen=True)
class ConsentTerms:
    """The DUO reading of one participant's answers."""

    permissions: frozenset[str]
    non_commercial_only: bool
    in_country_only: bool
    country: str

    def projection_fields(self) -> dict[str, object]:
        return {
            **{column: code in self.permissions for code, column in PERMISSION_COLUMNS.items()},
            "non_commercial_only": self.non_commercial_only,
            "in_country_only": self.in_country_only,
            "country": self.country,
        }

    def as_conditions(self) -> list[DataUseConditions]:
        """One DUO condition set per permitted kind of research (the matcher takes one)."""
        modifiers = set()
        if self.non_commercial_only:
            modifiers.add("NPUNCU")
        if self.in_country_only:
            modifiers.add("GS")
        countries = frozenset({self.country}) if self.in_country_only else frozenset()
        return [
            DataUseConditions(
                permission=permission, modifiers=frozenset(modifiers), countries=countries
            )
            for permission in sorted(self.permissions)
        ]


def consent_terms(
    meanings: Mapping[str, str], answers: Mapping[str, str], *, country: str
) -> ConsentTerms:
    """`meanings` maps each choice key of the version to its ChoiceMeaning."""
    said_yes = {
        ChoiceMeaning(meaning)
        for key, meaning in meanings.items()
        if answers.get(key) == Answer.YES and meaning in ChoiceMeaning.values
    }
    return ConsentTerms(
        permissions=frozenset(PERMISSIONS[m] for m in said_yes if m in PERMISSIONS),
        non_commercial_only=ChoiceMeaning.COMMERCIAL_USE not in said_yes,
        in_country_only=ChoiceMeaning.INTERNATIONAL_USE not in said_yes,
        country=country,
    )


def cohort_q(purpose: ResearchPurpose) -> Q:
    """A filter on CurrentConsent: participants whose consent the matcher would APPROVE.

    Derived from the matcher's own cohort filter, so the SQL and `match()` cannot drift
    apart; tests compare the two for every combination of answers.
    """
    rule = cohort_filter(purpose)
    if rule.purpose_needs_review:
        return Q(pk__in=[])
    columns = [
        PERMISSION_COLUMNS[p] for p in sorted(rule.accepted_permissions) if p in PERMISSION_COLUMNS
    ]
    if not columns:
        return Q(pk__in=[])
    q = allows_use_q()
    permitted = Q()
    for column in columns:
        permitted |= Q(**{column: True})
    q &= permitted
    if (
        rule.denying_modifiers.intersection(COMMERCIAL_MODIFIERS)
        or "NPUNCU" in rule.review_modifiers
    ):
        q &= Q(non_commercial_only=False)
    if "GS" in rule.review_modifiers:
        # The purpose names no country: only participants who allow any country qualify.
        q &= Q(in_country_only=False)
    elif "GS" in rule.context_modifiers:
        q &= Q(in_country_only=False) | Q(country=rule.context.country)
    return q


def prefixed(q: Q, prefix: str) -> Q:
    """The same filter seen from a model that reaches CurrentConsent through `prefix`
    (`"current_consent__"` from a sample), so a count elsewhere asks the same question."""
    rebuilt = Q()
    rebuilt.connector, rebuilt.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            rebuilt.children.append(prefixed(child, prefix))
        else:
            key, value = cast(tuple[str, object], child)
            rebuilt.children.append((f"{prefix}{key}", value))
    return rebuilt
