"""GA4GH Data Use Ontology (DUO) terms, loaded from ``data/duo_terms.json``.

The JSON holds the permission and modifier terms of DUO release 2021-02-23 (plus two obsolete
terms, kept so that old records still resolve), each with a plain-language description.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

DATA_FILE = "duo_terms.json"
_PACKAGE = __name__.rpartition(".")[0]


class TermKind(StrEnum):
    PERMISSION = "permission"
    MODIFIER = "modifier"


class TermParameter(StrEnum):
    """What a term must be coupled with to mean something.

    DISEASES are disease ontology ids (MONDO recommended); COUNTRIES are ISO 3166-1 alpha-2
    codes; END_DATE is the last day of permitted use; MORATORIUM_DATE the first day on which
    results may be published; USERS, PROJECTS and INSTITUTIONS are portal identifiers.
    """

    DISEASES = "diseases"
    COUNTRIES = "countries"
    END_DATE = "end_date"
    MORATORIUM_DATE = "moratorium_date"
    USERS = "users"
    PROJECTS = "projects"
    INSTITUTIONS = "institutions"


class UnknownTermError(ValueError):
    """Raised for a DUO id or shorthand that this release does not define."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"Unknown DUO term {ref!r}: expected a DUO id such as 'DUO:0000042' "
            f"or a shorthand such as 'GRU'."
        )


class DuoDataError(ValueError):
    """Raised when the DUO data file is inconsistent."""


@dataclass(frozen=True, slots=True)
class DuoTerm:
    id: str
    shorthand: str
    label: str
    description: str
    kind: TermKind
    parents: tuple[str, ...] = ()
    parameter: TermParameter | None = None
    obsolete: bool = False
    consider: tuple[str, ...] = ()

    @property
    def is_permission(self) -> bool:
        return self.kind is TermKind.PERMISSION

    @property
    def is_modifier(self) -> bool:
        return self.kind is TermKind.MODIFIER

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "shorthand": self.shorthand,
            "label": self.label,
            "description": self.description,
            "kind": self.kind.value,
            "parents": list(self.parents),
            "parameter": self.parameter.value if self.parameter else None,
            "obsolete": self.obsolete,
            "consider": list(self.consider),
        }


@dataclass(frozen=True, slots=True)
class DuoRelease:
    release: str
    source: str
    terms: tuple[DuoTerm, ...]
    by_id: Mapping[str, DuoTerm]
    by_shorthand: Mapping[str, DuoTerm]

    def __iter__(self) -> Iterator[DuoTerm]:
        return iter(self.terms)


def _term_from_dict(raw: Mapping[str, Any]) -> DuoTerm:
    parameter = raw.get("parameter")
    return DuoTerm(
        id=raw["id"],
        shorthand=raw["shorthand"],
        label=raw["label"],
        description=raw["description"],
        kind=TermKind(raw["kind"]),
        parents=tuple(raw.get("parents", ())),
        parameter=TermParameter(parameter) if parameter else None,
        obsolete=bool(raw.get("obsolete", False)),
        consider=tuple(raw.get("consider", ())),
    )


def build_release(document: Mapping[str, Any]) -> DuoRelease:
    """Build and check a release from the JSON document's structure."""
    terms = tuple(_term_from_dict(raw) for raw in document["terms"])
    by_id: dict[str, DuoTerm] = {}
    by_shorthand: dict[str, DuoTerm] = {}
    for t in terms:
        if t.id in by_id:
            raise DuoDataError(f"Duplicate DUO id {t.id}.")
        if t.shorthand.upper() in by_shorthand:
            raise DuoDataError(f"Duplicate DUO shorthand {t.shorthand}.")
        by_id[t.id] = t
        by_shorthand[t.shorthand.upper()] = t
    for t in terms:
        for ref in (*t.parents, *t.consider):
            if ref not in by_id:
                raise DuoDataError(f"{t.id} ({t.shorthand}) refers to undefined term {ref}.")
        for parent in t.parents:
            if by_id[parent].kind is not t.kind:
                raise DuoDataError(
                    f"{t.id} ({t.shorthand}) and its parent {parent} differ in kind."
                )
    _check_acyclic(by_id)
    return DuoRelease(
        release=document["release"],
        source=document.get("source", ""),
        terms=terms,
        by_id=by_id,
        by_shorthand=by_shorthand,
    )


def _check_acyclic(by_id: Mapping[str, DuoTerm]) -> None:
    done: set[str] = set()
    for start in by_id:
        on_path: set[str] = set()
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                on_path.discard(node)
                done.add(node)
            elif node in on_path:
                raise DuoDataError(f"Cycle in DUO parents through {node}.")
            elif node not in done:
                on_path.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in by_id[node].parents)


@functools.cache
def release() -> DuoRelease:
    """The shipped DUO release, read once per process."""
    text = resources.files(_PACKAGE).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return build_release(json.loads(text))


def term(ref: str) -> DuoTerm:
    """Look a term up by id (``DUO:0000042``) or shorthand (``GRU``), case-insensitively."""
    key = ref.strip().upper() if isinstance(ref, str) else ""
    data = release()
    found = data.by_id.get(key) or data.by_shorthand.get(key)
    if found is None:
        raise UnknownTermError(str(ref))
    return found


def all_terms(*, include_obsolete: bool = False) -> tuple[DuoTerm, ...]:
    return tuple(t for t in release() if include_obsolete or not t.obsolete)


def permissions() -> tuple[DuoTerm, ...]:
    """Current (non-obsolete) permission terms, in data-file order."""
    return tuple(t for t in all_terms() if t.is_permission)


def modifiers() -> tuple[DuoTerm, ...]:
    """Current (non-obsolete) modifier terms, in data-file order."""
    return tuple(t for t in all_terms() if t.is_modifier)


def ancestors(ref: str, *, include_self: bool = False) -> frozenset[str]:
    """Ids of the term's DUO ancestors (``NCU`` -> ``{NPUNCU's id}``)."""
    start = term(ref)
    data = release()
    seen: set[str] = {start.id} if include_self else set()
    stack = list(start.parents)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(data.by_id[current].parents)
    return frozenset(seen)
