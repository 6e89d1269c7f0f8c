"""Disease ontology used by DS (disease specific research) terms.

The matcher only needs a few questions answered about diseases, so the source is pluggable:
anything that satisfies :class:`DiseaseOntology` can be installed with :func:`set_ontology`.
The default, :class:`JsonDiseaseOntology`, reads a curated MONDO subset shipped in
``data/diseases.json``; a deployment that needs all of MONDO can load a full export into the
same class (same JSON shape) or provide its own implementation.

Ancestry is reflexive where the name says so: ``is_a(x, x)`` is true, and ``ancestors``
excludes the term itself unless ``include_self=True``.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

DATA_FILE = "diseases.json"
_PACKAGE = __name__.rpartition(".")[0]


class UnknownDiseaseError(ValueError):
    """Raised for a disease id that the active ontology does not contain."""

    def __init__(self, disease_id: str) -> None:
        self.disease_id = disease_id
        super().__init__(
            f"Unknown disease {disease_id!r}: it is not in the active disease ontology "
            f"(expected an id such as 'MONDO:0004992')."
        )


class DiseaseOntologyError(ValueError):
    """Raised when disease data are inconsistent (missing parent, cycle, duplicate id)."""


@dataclass(frozen=True, slots=True)
class DiseaseTerm:
    id: str
    label: str
    parents: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "parents": list(self.parents),
            "synonyms": list(self.synonyms),
        }


@runtime_checkable
class DiseaseOntology(Protocol):
    def __contains__(self, disease_id: object) -> bool: ...

    def label(self, disease_id: str) -> str:
        """The preferred label; raises UnknownDiseaseError."""
        ...

    def parents(self, disease_id: str) -> frozenset[str]:
        """Direct parents; raises UnknownDiseaseError."""
        ...

    def ancestors(self, disease_id: str, *, include_self: bool = False) -> frozenset[str]:
        """All ancestors, the term itself only if ``include_self``; raises UnknownDiseaseError."""
        ...

    def is_a(self, child: str, ancestor: str) -> bool:
        """True when ``ancestor`` is ``child`` or one of its ancestors; raises for unknown ids."""
        ...

    def search(self, text: str, *, limit: int = 20) -> tuple[DiseaseTerm, ...]:
        """Terms whose id, label or synonym contains ``text``, best matches first."""
        ...


class JsonDiseaseOntology:
    """An in-memory ontology with precomputed ancestor sets, built from plain terms."""

    def __init__(self, terms: Iterable[DiseaseTerm], *, name: str = "") -> None:
        self.name = name
        by_id: dict[str, DiseaseTerm] = {}
        for t in terms:
            if t.id in by_id:
                raise DiseaseOntologyError(f"Duplicate disease id {t.id}.")
            by_id[t.id] = t
        for t in by_id.values():
            for parent in t.parents:
                if parent not in by_id:
                    raise DiseaseOntologyError(f"{t.id} ({t.label}) has undefined parent {parent}.")
        self._terms = by_id
        self._ancestors = _ancestor_closure(by_id)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> JsonDiseaseOntology:
        terms = (
            DiseaseTerm(
                id=raw["id"],
                label=raw["label"],
                parents=tuple(raw.get("parents", ())),
                synonyms=tuple(raw.get("synonyms", ())),
            )
            for raw in document["terms"]
        )
        return cls(terms, name=str(document.get("ontology", "")))

    @classmethod
    def from_path(cls, path: str | Path) -> JsonDiseaseOntology:
        return cls.from_document(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def shipped(cls) -> JsonDiseaseOntology:
        """The curated MONDO subset that ships with the portal."""
        text = resources.files(_PACKAGE).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
        return cls.from_document(json.loads(text))

    def __contains__(self, disease_id: object) -> bool:
        return disease_id in self._terms

    def __iter__(self) -> Iterator[DiseaseTerm]:
        return iter(self._terms.values())

    def __len__(self) -> int:
        return len(self._terms)

    def term(self, disease_id: str) -> DiseaseTerm:
        try:
            return self._terms[disease_id]
        except KeyError:
            raise UnknownDiseaseError(disease_id) from None

    def label(self, disease_id: str) -> str:
        return self.term(disease_id).label

    def parents(self, disease_id: str) -> frozenset[str]:
        return frozenset(self.term(disease_id).parents)

    def ancestors(self, disease_id: str, *, include_self: bool = False) -> frozenset[str]:
        self.term(disease_id)
        found = self._ancestors[disease_id]
        return found | {disease_id} if include_self else found

    def descendants(self, disease_id: str, *, include_self: bool = False) -> frozenset[str]:
        self.term(disease_id)
        found = {other for other, anc in self._ancestors.items() if disease_id in anc}
        if include_self:
            found.add(disease_id)
        return frozenset(found)

    def is_a(self, child: str, ancestor: str) -> bool:
        self.term(ancestor)
        return ancestor in self.ancestors(child, include_self=True)

    def search(self, text: str, *, limit: int = 20) -> tuple[DiseaseTerm, ...]:
        needle = " ".join(text.split()).casefold()
        if not needle:
            return ()
        ranked: list[tuple[int, int, str, DiseaseTerm]] = []
        for t in self._terms.values():
            rank = _search_rank(t, needle)
            if rank is not None:
                # Shorter labels first, so a picker shows "lung cancer" before its subtypes.
                ranked.append((rank, len(t.label), t.label.casefold(), t))
        ranked.sort(key=lambda item: item[:3])
        return tuple(item[3] for item in ranked[:limit])


def _search_rank(t: DiseaseTerm, needle: str) -> int | None:
    label = t.label.casefold()
    synonyms = [s.casefold() for s in t.synonyms]
    if needle in (t.id.casefold(), label):
        return 0
    if needle in synonyms:
        return 1
    if label.startswith(needle):
        return 2
    if needle in label:
        return 3
    if any(needle in s for s in synonyms):
        return 4
    return None


def _ancestor_closure(by_id: Mapping[str, DiseaseTerm]) -> dict[str, frozenset[str]]:
    closure: dict[str, frozenset[str]] = {}
    in_progress: set[str] = set()

    def visit(disease_id: str) -> frozenset[str]:
        if disease_id in closure:
            return closure[disease_id]
        if disease_id in in_progress:
            raise DiseaseOntologyError(f"Cycle in disease parents through {disease_id}.")
        in_progress.add(disease_id)
        found: set[str] = set()
        for parent in by_id[disease_id].parents:
            found.add(parent)
            found |= visit(parent)
        in_progress.discard(disease_id)
        closure[disease_id] = frozenset(found)
        return closure[disease_id]

    # Recursion is safe: even full MONDO is only a few dozen levels deep.
    for disease_id in by_id:
        visit(disease_id)
    return closure


@functools.cache
def shipped_ontology() -> JsonDiseaseOntology:
    return JsonDiseaseOntology.shipped()


_active: DiseaseOntology | None = None


def get_ontology() -> DiseaseOntology:
    """The ontology the matcher uses when none is passed: the installed one, else the shipped."""
    return _active if _active is not None else shipped_ontology()


def set_ontology(ontology: DiseaseOntology | None) -> None:
    """Install a process-wide ontology at start-up; ``None`` restores the shipped subset."""
    global _active
    if ontology is not None and not isinstance(ontology, DiseaseOntology):
        raise TypeError(f"{type(ontology).__name__} does not implement DiseaseOntology.")
    _active = ontology


@contextlib.contextmanager
def use_ontology(ontology: DiseaseOntology) -> Iterator[DiseaseOntology]:
    """Temporarily install ``ontology`` (tests, management commands)."""
    previous = _active
    set_ontology(ontology)
    try:
        yield ontology
    finally:
        set_ontology(previous)
