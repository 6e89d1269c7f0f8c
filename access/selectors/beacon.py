"""The beacon's answers: who may be counted for the asker, and what the index says they carry.

Tiers (per dataset, the highest that applies):

- controlled: the asker holds an active grant for the dataset; the grant's request purpose
  decides who counts (`consenting_sample_q`, community approvals included), and only here
  may `record` granularity list the carriers.
- registered: a signed-in asker's declared purpose, which is the purpose of their latest
  access request that names a primary use (a draft is enough: writing the purpose down is
  the declaration). Matched with the DUO matcher exactly as the committee's cohort is.
- public: anonymous askers, and signed-in ones who have declared no purpose yet: general
  research use, consent active with no withdrawal of any level, no community's samples.

Unlinked samples never count (every tier's filter requires a linked participant); community
samples count only where the community's committee approved the asker's request.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from access.beacon import ENTRY_TYPE, BeaconActions, BeaconError, Filter, Query
from access.models import AccessRequest, Grant
from access.selectors.consented import consent_purposes, consenting_sample_q, public_sample_q
from access.selectors.requests import active_grants
from consent.duo import InvalidPurposeError, UnknownDiseaseError, ancestors
from consent.duo.terms import UnknownTermError
from consent.duo.terms import term as duo_term
from datasets.genomics.variants import bitmap_members
from datasets.models import Dataset, Sample
from datasets.selectors import (
    FoundVariant,
    IndexedFile,
    VariantScope,
    beacon_files,
    index_sample_pks,
    variants_at,
    variants_in,
)
from portal.audit import state_version
from portal.db import fetch_prepared
from portal.models import AuditEvent
from portal.selectors import ModelColumns

PUBLIC, REGISTERED, CONTROLLED = "public", "registered", "controlled"
# Names every human assembly has, known even before any file of it is indexed.
STANDARD_CHROMS = frozenset({*(str(n) for n in range(1, 23)), "X", "Y", "MT"})
# An allele carried by fewer than 5 of a file's samples, or by fewer than 1% of them, is
# rare: answers about rare alleles are what membership-inference attacks feed on (a "yes"
# about an allele with c carriers tells an attacker about ln(1 / (1 - e^-c)) nats: 0.46
# at c = 1, 0.007 at c = 5), so they cost more budget.
RARE_FREQUENCY = 0.01
RARE_CARRIERS = 5


def rare_frequency() -> float:
    return float(getattr(settings, "BEACON_RARE_FREQUENCY", RARE_FREQUENCY))


class Scope:
    """Who may be counted for one tier: `sample_q`, a filter on Sample, is built only when a
    query needs the ORM's form of it (a range query; a first compile), since building a
    request's filter costs more than PostgreSQL's answer to it."""

    def __init__(self, tier: str, request: AccessRequest | None = None) -> None:
        self.tier = tier
        self.request = request
        # Everything `sample_q`'s SQL is built from (never consent data, which the SQL reads
        # when it runs), so SQL compiled for one query serves every later one with this key.
        self.key: Hashable = PUBLIC if request is None else _request_key(request)

    @functools.cached_property
    def sample_q(self) -> Q:
        return public_sample_q() if self.request is None else consenting_sample_q(self.request)


def _request_key(request: AccessRequest) -> Hashable:
    """What `consenting_sample_q(request)` depends on: the request's id (its questions), its
    review round (its community approvals) and its purposes as the matcher reads them."""
    try:
        purposes: tuple[Any, ...] | None = tuple(consent_purposes(request))
    except (InvalidPurposeError, UnknownDiseaseError):
        purposes = None
    return (request.pk, request.review_round, purposes)


def declared_request(user: Any) -> AccessRequest | None:
    """The signed-in asker's declared purpose: their latest request naming a primary use."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        AccessRequest.objects.filter(applicant=user)
        .exclude(primary_use="")
        .select_related("applicant")
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class Scopes:
    default: Scope
    controlled: dict[int, Scope]

    def of(self, dataset_id: int) -> Scope:
        return self.controlled.get(dataset_id, self.default)


@functools.cache
def _public_scope() -> Scope:
    # The same filter for every anonymous query: built once (it holds no consent data).
    return Scope(PUBLIC)


@functools.cache
def _purposes_lookup() -> tuple[str, ModelColumns]:
    """`declared_request` and `active_grants`' requests in one query, written out once: the
    ORM's compiling of the two took most of a registered query's time (docs/beacon.md).
    The declared request comes first (no dataset); then each active grant's dataset, last
    day and request. The grant conditions are `active_grants`' (tests/access/test_beacon_tiers.py
    holds the two to the same answers)."""
    quote = connection.ops.quote_name
    requests = ModelColumns.of(AccessRequest)
    columns = ", ".join(f"r.{quote(str(f.column))}" for f, _ in requests.converters)
    request_table = quote(AccessRequest._meta.db_table)
    grant_table = quote(Grant._meta.db_table)
    sql = (
        f"SELECT CAST(NULL AS bigint), CAST(NULL AS date), {columns} FROM {request_table} r "  # noqa: S608
        f"WHERE r.id = (SELECT d.id FROM {request_table} d WHERE d.applicant_id = %s "
        "AND d.primary_use <> '' ORDER BY d.created_at DESC, d.id DESC LIMIT 1) "
        f"UNION ALL SELECT g.dataset_id, g.ends_on, {columns} FROM {grant_table} g "
        f"JOIN {request_table} r ON r.id = g.request_id WHERE g.grantee_id = %s "
        "AND g.revoked_at IS NULL AND g.starts_on <= %s AND g.ends_on >= %s"
    )
    return sql, requests


def scopes_for(user: Any) -> Scopes:
    if not getattr(user, "is_authenticated", False):
        return Scopes(_public_scope(), {})
    sql, requests = _purposes_lookup()
    today = timezone.localdate()
    rows = fetch_prepared(sql, [user.pk, user.pk, today, today])
    default = _public_scope()
    grants = []
    for dataset_id, ends_on, *values in rows:
        request = requests.instance(tuple(values))
        if request.applicant_id == user.pk:
            request.applicant = user  # its purpose names the applicant
        if dataset_id is None:
            default = Scope(REGISTERED, request)
        else:
            grants.append((ends_on, dataset_id, request))
    controlled: dict[int, Scope] = {}
    for _, dataset_id, request in sorted(grants, key=lambda g: (g[0], g[2].pk)):
        # The grant ending last wins where two cover the same dataset.
        controlled[dataset_id] = Scope(CONTROLLED, request)
    return Scopes(default, controlled)


@functools.lru_cache(maxsize=512)
def _columns(index_id: int) -> tuple[int, ...]:
    # A READY index never changes (READY is final), so its column map is cached for good.
    return tuple(index_sample_pks(index_id))


@dataclass
class DatasetAnswer:
    file: IndexedFile
    tier: str
    variants: list[FoundVariant] = field(default_factory=list)
    carriers: dict[int, int] = field(default_factory=dict)  # sample pk -> participant id

    @property
    def exists(self) -> bool:
        return bool(self.variants)


@dataclass
class Answer:
    query: Query
    default_tier: str
    datasets: list[DatasetAnswer]
    rare: bool
    found: int  # alleles found in the index before any consent filter

    @property
    def exists(self) -> bool:
        return any(d.exists for d in self.datasets)

    @property
    def variant_count(self) -> int:
        return len({(v.chrom, v.position, v.ref, v.alt) for d in self.datasets for v in d.variants})

    @property
    def carrier_count(self) -> int:
        return len({p for d in self.datasets for p in d.carriers.values()})

    @property
    def public(self) -> bool:
        """Small counts are hidden whenever any part of the answer is at the public tier."""
        return self.default_tier == PUBLIC or any(d.tier == PUBLIC for d in self.datasets)


def _check_reference(query: Query, files: list[IndexedFile]) -> None:
    known = STANDARD_CHROMS.union(*(f.contigs for f in files))
    if query.chrom not in known:
        raise BeaconError(
            f"Unknown referenceName {query.chrom!r} for {query.assembly}: use a chromosome "
            "name such as 1-22, X, Y or MT (with or without 'chr')."
        )


def carrier_sample_pks(index_id: int, carriers: bytes) -> list[int]:
    columns = _columns(index_id)
    return [columns[i] for i in bitmap_members(carriers)]


def _answer_sequence(answer: DatasetAnswer, rows: list[FoundVariant], scope: Scope) -> None:
    """A boolean answer: is any carrier countable? Asked of PostgreSQL, which stops at the
    first one (no version to read, nothing cached)."""
    compiled = _compiled(scope)
    for row in rows:
        if _any_counted(compiled, carrier_sample_pks(row.index_id, row.carriers)):
            answer.variants.append(row)


# A boolean answer needs one countable carrier, not all: the carriers are asked about in
# growing slices (PostgreSQL checks every element of an `= ANY` array before it can stop,
# so 2,000 carriers of a common allele would cost 2,000 index probes at once).
_SLICES = (64, 512)


class _CompiledFilter:
    """`Sample.objects.filter(sample_q, pk__in_array=pks)` compiled once by the ORM and run
    with new carriers: compiling a tier's filter (a registered purpose's is a dozen joins
    and subqueries) took several times longer than PostgreSQL's answer. The carrier array
    is found among the compiled parameters."""

    _MARKER = -987_654_321

    def __init__(self, sample_q: Q) -> None:
        query = Sample.objects.filter(sample_q, pk__in_array=[self._MARKER]).order_by()
        exists_sql, params = query.values("pk")[:1].query.sql_with_params()
        self.exists_sql = f"SELECT EXISTS ({exists_sql})"
        self.exists_params = list(params)
        self.exists_slot = self.exists_params.index([self._MARKER])

    def exists(self, pks: list[int]) -> bool:
        params = self.exists_params.copy()
        params[self.exists_slot] = pks
        return bool(fetch_prepared(self.exists_sql, params)[0][0])


class _OrmFilter:
    """The same questions through the ORM, for databases without `= ANY(array)` (SQLite)."""

    def __init__(self, sample_q: Q) -> None:
        self.sample_q = sample_q

    def exists(self, pks: list[int]) -> bool:
        return Sample.objects.filter(self.sample_q, pk__in_array=pks).exists()


# Compiled filters by scope key. The SQL holds no consent data, so an entry is never stale;
# the bound only limits memory (a few hundred declared purposes per process at most).
_COMPILED: dict[tuple[str, Hashable], _CompiledFilter | _OrmFilter] = {}
_COMPILED_MAX = 512


def _compiled(scope: Scope) -> _CompiledFilter | _OrmFilter:
    if connection.vendor != "postgresql":
        return _OrmFilter(scope.sample_q)
    key = (connection.alias, scope.key)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        found = _COMPILED[key] = _CompiledFilter(scope.sample_q)
    return found


def _any_counted(compiled: _CompiledFilter | _OrmFilter, pks: list[int]) -> bool:
    start = 0
    for size in (*_SLICES, len(pks)):
        chunk = pks[start : start + size]
        if chunk and compiled.exists(chunk):
            return True
        start += size
        if start >= len(pks):
            return False
    return False


@dataclass(frozen=True)
class _Countable:
    """Who a scope may count in one indexed file: the file's columns as a bitmap, and each
    column's participant (None when unlinked)."""

    columns: int
    participants: tuple[int | None, ...]


# (database, scope key, index) -> (state version, countable columns). One entry per purpose
# and file, replaced when the version moves; the bound only limits memory.
_COUNTABLE: dict[tuple[str, Hashable, int], tuple[str, _Countable]] = {}
_COUNTABLE_MAX = 1024


def _countable(scope: Scope, file: IndexedFile, version: str) -> _Countable:
    """Everyone `scope` may count in the file, cached under `portal.audit.state_version`:
    every change it depends on (a consent, an answer to a question, a link, a community's
    decision) is audited as a state change and moves the version, while beacon queries,
    audited as reads, leave it. `version` must be read before this runs (see
    `state_version_sql`): the rows read here are then at least as new as the version says,
    so nothing older than it is ever cached under it."""
    key = (connection.alias, scope.key, file.index_id)
    cached = _COUNTABLE.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    counted = dict(
        Sample.objects.filter(scope.sample_q, dataset_id=file.dataset_id).values_list(
            "pk", "participant_id"
        )
    )
    columns = 0
    participants = []
    for i, pk in enumerate(_columns(file.index_id)):
        if pk in counted:
            columns |= 1 << i
        participants.append(counted.get(pk))
    found = _Countable(columns, tuple(participants))
    if len(_COUNTABLE) >= _COUNTABLE_MAX:
        _COUNTABLE.clear()
    _COUNTABLE[key] = (version, found)
    return found


def _answer_by_bitmap(
    answer: DatasetAnswer, rows: list[FoundVariant], countable: _Countable, *, full: bool
) -> None:
    """Counts, records and ranges: each allele's carriers ANDed with the countable columns."""
    carried = 0
    for row in rows:
        hit = int.from_bytes(row.carriers, "little") & countable.columns
        if hit:
            answer.variants.append(row)
            carried |= hit
    if full and carried:
        columns = _columns(answer.file.index_id)
        width = (len(columns) + 7) // 8
        for i in bitmap_members(carried.to_bytes(width, "little")):
            participant = countable.participants[i]
            if participant is not None:
                answer.carriers[columns[i]] = participant


@dataclass(frozen=True)
class BeaconDataset:
    """A released dataset with a ready index, as the filters see it."""

    pk: int
    accession: str
    title: str
    duo_terms: frozenset[str]  # DUO ids of its permission and modifiers

    def carries(self, duo_id: str, *, descendants: bool) -> bool:
        if duo_id in self.duo_terms:
            return True
        return descendants and any(duo_id in ancestors(t) for t in self.duo_terms)


def _duo_ids(shorthands: Iterable[str]) -> frozenset[str]:
    found = set()
    for ref in shorthands:
        try:
            found.add(duo_term(ref).id)
        except UnknownTermError:
            continue  # a dataset's own conditions are validated when it is saved
    return frozenset(found)


def beacon_datasets() -> list[BeaconDataset]:
    """Every dataset the beacon answers for (any assembly), by accession."""
    ids = {f.dataset_id for f in beacon_files()}
    rows = (
        Dataset.objects.filter(pk__in=sorted(ids))
        .order_by("accession")
        .values_list("pk", "accession", "title", "permission", "modifiers")
    )
    return [
        BeaconDataset(pk, accession or "", title, _duo_ids([permission, *(modifiers or [])]))
        for pk, accession, title, permission, modifiers in rows
    ]


def filtered_dataset_ids(filters: tuple[Filter, ...]) -> frozenset[int]:
    """The datasets every filter admits; BeaconError for an accession the beacon lacks."""
    datasets = beacon_datasets()
    accessions = {d.accession for d in datasets}
    for wanted in filters:
        if wanted.is_dataset and wanted.id not in accessions:
            raise BeaconError(
                f"{wanted.id} is not a dataset this beacon answers for: /filtering_terms lists "
                "the datasets (and the DUO terms) it can filter on."
            )
    return frozenset(
        d.pk
        for d in datasets
        if all(
            d.accession == f.id if f.is_dataset else d.carries(f.id, descendants=f.descendants)
            for f in filters
        )
    )


def filtering_terms() -> list[dict[str, Any]]:
    """The beacon's filtering terms: each DUO term its datasets carry, then each dataset."""
    datasets = beacon_datasets()
    used = sorted({t for d in datasets for t in d.duo_terms})
    terms: list[dict[str, Any]] = [
        {
            "type": "ontology",
            "id": ref,
            "label": duo_term(ref).label,
            "scopes": [ENTRY_TYPE],
        }
        for ref in used
    ]
    terms += [
        {"type": "custom", "id": d.accession, "label": d.title, "scopes": [ENTRY_TYPE]}
        for d in datasets
    ]
    return terms


def beacon_answer(query: Query, user: Any) -> Answer:
    """The consent-aware answer to a g_variants query (the asker's tiers already applied)."""
    scopes = scopes_for(user)
    if query.chrom not in STANDARD_CHROMS:
        _check_reference(query, beacon_files(query.assembly))
    dataset_ids = frozenset(scopes.controlled) if query.granularity == "record" else None
    if query.filters:
        chosen = filtered_dataset_ids(query.filters)
        dataset_ids = chosen if dataset_ids is None else dataset_ids & chosen
    scope = VariantScope(query.assembly, dataset_ids)
    if query.is_sequence:
        found = variants_at(
            scope,
            chrom=query.chrom,
            position=query.first_position,
            ref=query.ref or "",
            alt=query.alt,
        )
    else:
        found = variants_in(
            scope,
            chrom=query.chrom,
            first=query.first_position,
            last=query.last_position,
            kinds=query.kinds,
        )
    threshold = rare_frequency()
    rare = any(
        row.carrier_count < max(RARE_CARRIERS, threshold * file.samples) for file, row in found
    )
    files: dict[int, IndexedFile] = {}
    grouped: dict[int, list[FoundVariant]] = defaultdict(list)
    for file, row in found:
        files[file.index_id] = file
        grouped[file.index_id].append(row)
    full = query.granularity != "boolean"
    # Read before anything it versions (see _countable); a boolean allele query needs none.
    version = state_version() if full or not query.is_sequence else ""
    answers = []
    for index_id, rows in grouped.items():
        file = files[index_id]
        scope_of = scopes.of(file.dataset_id)
        answer = DatasetAnswer(file=file, tier=scope_of.tier)
        if query.is_sequence and not full:
            _answer_sequence(answer, rows, scope_of)
        else:
            countable = _countable(scope_of, file, version)
            _answer_by_bitmap(answer, rows, countable, full=full)
        answers.append(answer)
    return Answer(query, scopes.default.tier, answers, rare, len(found))


def may_ask_records(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and active_grants(user).exists()


def sample_names(pks: Iterable[int]) -> dict[int, str]:
    return dict(Sample.objects.filter(pk__in=list(pks)).values_list("pk", "sample_id"))


# --- the stewards' view of query volumes ---------------------------------------------------------


@dataclass(frozen=True)
class QueryVolume:
    client: str
    label: str
    queries: int
    rare: int
    refused: int
    over_budget: int
    last: Any


def query_volumes(*, days: int = 30) -> list[QueryVolume]:
    """Beacon queries per asker over the last `days` days, busiest first (from the ledger)."""
    since = timezone.now() - dt.timedelta(days=days)
    client = KeyTextTransform("client", "after")
    rows = (
        AuditEvent.objects.filter(
            object_type="beacon", object_id="g_variants", action=BeaconActions.QUERY
        )
        .filter(occurred_at__gte=since)
        .annotate(client=client)
        .values("client")
        .annotate(
            queries=Count("pk"),
            rare=Count("pk", filter=Q(after__rare=True)),
            refused=Count("pk", filter=Q(after__has_key="refused")),
            over_budget=Count("pk", filter=Q(after__refused=429)),
            last=Max("occurred_at"),
            label=Max("actor_label"),
        )
        .order_by("-queries", "client")
    )
    return [
        QueryVolume(
            client=row["client"],
            label=row["label"] if row["client"].startswith("user:") else "anonymous",
            queries=row["queries"],
            rare=row["rare"],
            refused=row["refused"],
            over_budget=row["over_budget"],
            last=row["last"],
        )
        for row in rows
    ]
