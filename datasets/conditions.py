"""A dataset's data-use conditions: checking them, and saying them in plain language.

Pure functions over `consent.duo`: the DUO terms' own labels and descriptions, the disease
ontology's labels, and the matcher's notion of obligations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from consent.duo import (
    DataUseConditions,
    InvalidConditionsError,
    Obligation,
    PrimaryUse,
    ResearchPurpose,
    get_ontology,
    match,
    term,
)
from portal.exceptions import PortalError


class ConditionsError(PortalError):
    code = "invalid_conditions"


def split_list(text: str) -> list[str]:
    """ "GB, FR" or one per line -> ["GB", "FR"]."""
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]


def _disease_id(ref: str) -> str:
    """An ontology id for an id or an exact (case-insensitive) label or synonym."""
    ontology = get_ontology()
    if ref in ontology:
        return ref
    wanted = ref.casefold()
    for found in ontology.search(ref, limit=5):
        if wanted in (found.label.casefold(), *(s.casefold() for s in found.synonyms)):
            return found.id
    raise ConditionsError(
        f"Unknown disease {ref!r}: give a disease ontology id such as MONDO:0004992 "
        "or an exact disease name such as 'cancer'."
    )


def conditions_check(
    *,
    permission: str,
    modifiers: Iterable[str] = (),
    diseases: Iterable[str] = (),
    countries: Iterable[str] = (),
    time_limit: dt.date | None = None,
    moratorium_until: dt.date | None = None,
    users: Iterable[str] = (),
    projects: Iterable[str] = (),
    institutions: Iterable[str] = (),
) -> DataUseConditions:
    """The conditions, normalised (DUO shorthands, disease ids), or ConditionsError.

    The DUO code's own checks give the messages: an unknown or obsolete term, a modifier
    given as a permission, DS without a disease, GS without a country, TS without a date.
    """
    if not (permission or "").strip():
        raise ConditionsError("Choose the kind of research the data may be used for (DUO).")
    try:
        conditions = DataUseConditions(
            permission=permission.strip(),
            diseases=frozenset(_disease_id(d.strip()) for d in diseases if d.strip()),
            modifiers=frozenset(m.strip() for m in modifiers if m.strip()),
            countries=frozenset(c.strip() for c in countries if c.strip()),
            time_limit=time_limit,
            moratorium_until=moratorium_until,
            users=frozenset(u.strip() for u in users if u.strip()),
            projects=frozenset(p.strip() for p in projects if p.strip()),
            institutions=frozenset(i.strip() for i in institutions if i.strip()),
        )
    except InvalidConditionsError as exc:
        raise ConditionsError(str(exc)) from exc
    return conditions


def conditions_fields(conditions: DataUseConditions) -> dict[str, object]:
    """The model columns of `Dataset` for these conditions (lists sorted, for stable JSON)."""
    return {
        "permission": conditions.permission,
        "modifiers": [c for c in conditions.codes if c != conditions.permission],
        "diseases": sorted(conditions.diseases),
        "countries": sorted(conditions.countries),
        "time_limit": conditions.time_limit,
        "moratorium_until": conditions.moratorium_until,
        "users": sorted(conditions.users),
        "projects": sorted(conditions.projects),
        "institutions": sorted(conditions.institutions),
    }


@dataclass(frozen=True)
class TermText:
    """One DUO term of a dataset, in words: "General research use (GRU, DUO:0000042)"."""

    code: str
    id: str
    label: str
    description: str
    detail: str = ""

    @property
    def title(self) -> str:
        return self.label[:1].upper() + self.label[1:]


def _date(value: dt.date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _detail(code: str, conditions: DataUseConditions) -> str:
    if code == "DS":
        ontology = get_ontology()
        names = sorted(
            (f"{ontology.label(d)} ({d})" for d in conditions.diseases), key=str.casefold
        )
        own = "its" if len(names) == 1 else "their"
        return f"Diseases: {_join([*names, f'{own} subtypes'])}."
    if code == "GS":
        return f"Countries: {_join(sorted(conditions.countries))}."
    if code == "TS":
        return f"Use ends on {_date(conditions.time_limit)}."
    if code == "MOR":
        return f"Results may be published from {_date(conditions.moratorium_until)}."
    approved = {"US": conditions.users, "PS": conditions.projects, "IS": conditions.institutions}
    if code in approved:
        names = sorted(approved[code])
        if names:
            return f"Approved in advance: {_join(names)}."
        return "The data access committee approves each one."
    return ""


def conditions_text(conditions: DataUseConditions) -> list[TermText]:
    """Permission first, then modifiers in DUO order, each with its parameters in words."""
    lines = []
    for code in conditions.codes:
        found = term(code)
        lines.append(
            TermText(
                code=found.shorthand,
                id=found.id,
                label=found.label,
                description=found.description,
                detail=_detail(code, conditions),
            )
        )
    return lines


def conditions_obligations(conditions: DataUseConditions) -> tuple[Obligation, ...]:
    """What an applicant must do or document (IRB, COL, PUB, MOR, RTN, GSO, CC).

    The matcher derives obligations from the conditions alone, whatever the purpose, so
    any purpose gives the same list.
    """
    return match(ResearchPurpose(primary=PrimaryUse.GRU), conditions).obligations
