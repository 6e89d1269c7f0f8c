"""Reads on datasets: the steward's lists, the public catalogue, and the "unchanged since
validation" check that delivery runs before serving a file."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from consent.duo import Obligation, PrimaryUse, ResearchPurpose
from consent.meanings import cohort_q, prefixed
from datasets import genomics
from datasets.conditions import TermText, conditions_obligations, conditions_text
from datasets.genomics.variants import normalise_chrom
from datasets.models import (
    Committee,
    CommitteeKind,
    DataFile,
    Dataset,
    DatasetStatus,
    FileStatus,
    LinkStatus,
    Sample,
    Variant,
    VariantIndex,
    VariantIndexStatus,
)
from datasets.paths import (
    DataPathError,
    ListedFile,
    data_root_listing,
    relative_message,
    resolve_data_path,
)
from portal.db import fetch_prepared
from portal.exceptions import PortalError
from portal.models import Role, User

# Below this, a count of consenting participants could point at individuals.
SMALL_COUNT = 5
SMALL_COUNT_TEXT = f"fewer than {SMALL_COUNT}"

# The catalogue's "consenting now": what the matcher would approve for non-commercial health
# research (general research consent covers it too), from any country; the same cohort filter
# a data-access request's own count uses, so the two cannot disagree on the rule.
CATALOGUE_PURPOSE = ResearchPurpose(primary=PrimaryUse.HMB)


def consenting_sample_q() -> Q:
    """A filter on Dataset: its linked samples in the catalogue's consenting count."""
    consent = prefixed(cohort_q(CATALOGUE_PURPOSE), "samples__participant__current_consent__")
    return Q(samples__link=LinkStatus.LINKED) & consent


def display_count(count: int) -> str:
    """A count safe to publish: "fewer than 5" for 0 to 4."""
    return SMALL_COUNT_TEXT if count < SMALL_COUNT else f"{count:,}"


def with_counts(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    """Samples, consenting samples and total file size, in the same single query.

    The size comes from a subquery: summing over a join with the samples would count each
    file once per sample.
    """
    sizes = (
        DataFile.objects.filter(dataset=OuterRef("pk"))
        .values("dataset")
        .annotate(total=Sum("size"))
        .values("total")
    )
    return datasets.annotate(
        sample_count=Count("samples", distinct=True),
        consenting_count=Count("samples", filter=consenting_sample_q(), distinct=True),
        total_size=Subquery(sizes),
    )


def with_formats(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return datasets.prefetch_related(
        Prefetch("files", queryset=DataFile.objects.only("id", "dataset_id", "format", "path"))
    )


# --- committees --------------------------------------------------------------------------------


def committees(kind: CommitteeKind | None = CommitteeKind.DAC) -> QuerySet[Committee]:
    """Committees of one kind (a dataset's DAC by default; None: every kind), by name."""
    found = Committee.objects.all() if kind is None else Committee.objects.filter(kind=kind)
    return found.order_by("name")


def committees_of(user: User) -> QuerySet[Committee]:
    return Committee.objects.filter(members=user).prefetch_related("chairs").order_by("name")


def committee_by_name(name: str) -> Committee | None:
    return Committee.objects.filter(name=name).first()


# --- stewards ---------------------------------------------------------------------------------


def steward_datasets() -> QuerySet[Dataset]:
    return with_counts(Dataset.objects.select_related("committee")).order_by("-created_at", "-pk")


def steward_dataset(accession: str) -> Dataset | None:
    """Any dataset, draft or not, with its counts."""
    datasets = with_counts(Dataset.objects.select_related("committee", "created_by"))
    return datasets.filter(accession=accession).first()


def dataset_files(dataset: Dataset) -> list[DataFile]:
    """Data files, each followed by its index."""
    files = list(dataset.files.select_related("index_of").order_by("path"))
    data = [f for f in files if f.index_of_id is None]
    indexes = {f.index_of_id: f for f in files if f.index_of_id is not None}
    ordered: list[DataFile] = []
    for file in data:
        ordered.append(file)
        if file.pk in indexes:
            ordered.append(indexes[file.pk])
    return ordered


def files_in_progress(files: list[DataFile]) -> bool:
    return any(f.status in (FileStatus.PENDING, FileStatus.VALIDATING) for f in files)


def datafile_in(dataset: Dataset, file_id: int) -> DataFile | None:
    return dataset.files.select_related("dataset").filter(pk=file_id).first()


@dataclass(frozen=True)
class SampleRow:
    sample: Sample
    files: tuple[str, ...]


def dataset_samples(dataset: Dataset) -> list[SampleRow]:
    """Every sample with the files it is in (two queries)."""
    in_files: dict[str, list[str]] = {}
    for path, samples in dataset.files.values_list("path", "samples"):
        for sample_id in samples:
            in_files.setdefault(sample_id, []).append(path.rsplit("/", 1)[-1])
    samples = dataset.samples.select_related("participant").order_by("sample_id")
    return [SampleRow(s, tuple(in_files.get(s.sample_id, ()))) for s in samples]


def community_sample_counts(dataset: Dataset) -> list[tuple[str, int]]:
    """(community, number of the dataset's samples in it), by name: one query."""
    rows = (
        Sample.objects.filter(dataset=dataset, community__isnull=False)
        .values("community__name")
        .annotate(n=Count("pk"))
        .order_by("community__name")
    )
    return [(row["community__name"], row["n"]) for row in rows]


def sample_link_counts(dataset: Dataset) -> dict[str, int]:
    counts = Counter(dict(dataset.samples.values_list("link").annotate(n=Count("id"))))
    return {status.value: counts.get(status.value, 0) for status in LinkStatus}


# --- who sees what ----------------------------------------------------------------------------


def visible_datasets(user: User | Any) -> QuerySet[Dataset]:
    """Stewards see every dataset; everyone else (anonymous visitors too) released ones."""
    datasets = Dataset.objects.select_related("committee")
    if getattr(user, "is_authenticated", False) and user.has_role(Role.STEWARD):
        return datasets
    return datasets.filter(status=DatasetStatus.RELEASED)


def visible_dataset(user: User | Any, accession: str) -> Dataset | None:
    """The dataset if the user may see it; a draft and a missing one look the same."""
    return with_counts(visible_datasets(user)).filter(accession=accession).first()


def visible_datafile(user: User | Any, accession: str, file_id: int) -> DataFile | None:
    dataset = visible_datasets(user).filter(accession=accession).first()
    if dataset is None:
        return None
    return dataset.files.select_related("dataset", "index_of").filter(pk=file_id).first()


# --- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    dataset: Dataset
    sample_count: int
    consenting_count: int
    total_size: int
    formats: tuple[str, ...]
    index_formats: tuple[str, ...]
    conditions: tuple[TermText, ...]
    obligations: tuple[Obligation, ...]

    @property
    def consenting_display(self) -> str:
        return display_count(self.consenting_count)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.conditions)


def _entry(dataset: Dataset) -> CatalogueEntry:
    conditions = dataset.conditions
    files = list(dataset.files.all())
    return CatalogueEntry(
        dataset=dataset,
        # Annotations of the catalogue's query.
        sample_count=dataset.sample_count,  # type: ignore[attr-defined]
        consenting_count=dataset.consenting_count,  # type: ignore[attr-defined]
        total_size=dataset.total_size or 0,  # type: ignore[attr-defined]
        formats=tuple(sorted({f.get_format_display() for f in files if not f.is_index})),
        index_formats=tuple(sorted({f.get_format_display() for f in files if f.is_index})),
        conditions=tuple(conditions_text(conditions)),
        obligations=conditions_obligations(conditions),
    )


def _matches(entry: CatalogueEntry, words: list[str]) -> bool:
    text = " ".join(
        [
            entry.dataset.accession or "",
            entry.dataset.title,
            entry.dataset.description,
            entry.dataset.committee.name,
            *(f"{t.code} {t.id} {t.label} {t.detail}" for t in entry.conditions),
            *entry.formats,
        ]
    ).casefold()
    return all(word in text for word in words)


def catalogue(query: str = "") -> list[CatalogueEntry]:
    """Released datasets, newest first, matching every word of `query` in the accession,
    title, description, committee, DUO codes and labels, disease names or file formats.

    Two queries whatever the number of datasets; the words are matched in Python, on the
    same plain-language text the page shows (a catalogue holds hundreds, not millions).
    """
    datasets = with_formats(with_counts(visible_datasets(None))).order_by("-released_at", "-pk")
    entries = [_entry(d) for d in datasets]
    words = query.casefold().split()
    return [e for e in entries if _matches(e, words)] if words else entries


def catalogue_entry(accession: str) -> CatalogueEntry | None:
    dataset = with_formats(with_counts(visible_datasets(None))).filter(accession=accession).first()
    return _entry(dataset) if dataset is not None else None


# --- unchanged since validation ---------------------------------------------------------------


class FileChangedError(PortalError):
    """The file on disk is not the file that was validated: it must not be delivered."""

    code = "file_changed"
    http_status = 409


def datafile_check_unchanged(file: DataFile, *, full: bool = False) -> Path:
    """The file's resolved path if it is still the file that was validated.

    Quick check: the size and modification time recorded at validation. `full=True` also
    reads the whole file and compares SHA-256 and MD5 (and then forgives a changed mtime
    when the content is the same). Raises FileChangedError naming the file otherwise.
    """
    if file.status != FileStatus.VALID or not file.sha256:
        raise FileChangedError(f"{file.path}: the file has not been validated.")
    try:
        found = resolve_data_path(file.path)
    except DataPathError as exc:
        raise FileChangedError(exc.message) from exc
    try:
        st = found.absolute.stat()
    except FileNotFoundError as exc:
        raise FileChangedError(
            f"{file.path}: the file has vanished since it was validated; it cannot be delivered."
        ) from exc
    if st.st_size != file.size:
        raise FileChangedError(
            f"{file.path}: the file has changed since it was validated (now {st.st_size:,} "
            f"bytes, validated at {file.size:,}); it cannot be delivered until it is "
            "validated again."
        )
    if st.st_mtime_ns != file.mtime_ns and not full:
        raise FileChangedError(
            f"{file.path}: the file was modified after it was validated; it cannot be "
            "delivered until it is validated again."
        )
    if full:
        try:
            sums = genomics.compute_checksums(found.absolute)
        except genomics.GenomicFileError as exc:
            raise FileChangedError(relative_message(exc.message)) from exc
        if (sums.sha256, sums.md5) != (file.sha256, file.md5):
            raise FileChangedError(
                f"{file.path}: checksum mismatch: the SHA-256 is now {sums.sha256}, but "
                f"{file.sha256} was validated; it cannot be delivered until it is validated "
                "again."
            )
    return found.absolute


_INDEX_SUFFIXES = (".bai", ".crai", ".tbi", ".csi")


def _is_index_of_listed(path: str, listed: set[str]) -> bool:
    for suffix in _INDEX_SUFFIXES:
        if path.endswith(suffix):
            base = path[: -len(suffix)]
            return base in listed or f"{base}.bam" in listed or f"{base}.cram" in listed
    return False


def addable_files(dataset: Dataset) -> tuple[list[ListedFile], int, bool]:
    """Files under the data root the steward may add: not yet in the dataset, and not an
    index beside a data file (it is registered with it). Also how many are already in the
    dataset, and whether the listing was cut short."""
    listing, truncated = data_root_listing()
    registered = set(dataset.files.values_list("path", flat=True))
    listed = {f.path for f in listing}
    addable = [
        f for f in listing if f.path not in registered and not _is_index_of_listed(f.path, listed)
    ]
    already = sum(1 for f in listing if f.path in registered)
    return addable, already, truncated


# --- the beacon's variant index ---------------------------------------------------------------


@dataclass(frozen=True)
class IndexedFile:
    """A ready variant index of a released dataset's file, as the beacon queries it."""

    index_id: int
    dataset_id: int
    accession: str
    title: str
    assembly: str
    samples: int
    contigs: frozenset[str]


@dataclass(frozen=True)
class FoundVariant:
    index_id: int
    chrom: str
    position: int
    ref: str
    alt: str
    kind: str
    carrier_count: int
    carriers: bytes


def beacon_files(assembly: str | None = None) -> list[IndexedFile]:
    """Ready indexes of released datasets (of one assembly if named), by accession."""
    indexes = VariantIndex.objects.filter(
        status=VariantIndexStatus.READY, file__dataset__status=DatasetStatus.RELEASED
    )
    if assembly is not None:
        indexes = indexes.filter(assembly=assembly)
    rows = indexes.order_by("file__dataset__accession", "pk").values_list(
        "pk", "file__dataset_id", "file__dataset__accession", "file__dataset__title", "assembly"
    )
    files = []
    for pk, dataset_id, accession, title, assembly_ in rows:
        samples, contigs = _index_shape(pk)
        files.append(
            IndexedFile(pk, dataset_id, accession or "", title, assembly_, samples, contigs)
        )
    return files


@functools.lru_cache(maxsize=1024)
def _index_shape(index_id: int) -> tuple[int, frozenset[str]]:
    """(sample columns, normalised contig names) of an indexed file. Cached for good: only
    READY indexes are asked, READY is final, and a released dataset's files never change."""
    samples, contigs = VariantIndex.objects.filter(pk=index_id).values_list(
        "file__samples", "file__contigs"
    )[0]
    return len(samples), frozenset(normalise_chrom(c["name"]) for c in contigs)


def index_sample_pks(index_id: int) -> list[int]:
    """The Sample primary key of each sample column of the indexed file, in column order."""
    found = VariantIndex.objects.filter(pk=index_id).values_list("sample_pks", flat=True).first()
    return list(found or [])


_VARIANT_FIELDS = ("index_id", "chrom", "position", "ref", "alt", "kind", "carrier_count")
_FILE_FIELDS = {
    "dataset_id": "index__file__dataset_id",
    "accession": "index__file__dataset__accession",
    "title": "index__file__dataset__title",
    "assembly": "index__assembly",
}


@dataclass(frozen=True)
class VariantScope:
    """Which indexes a lookup reads: READY ones of released datasets, of one assembly, of
    the named datasets only if any are named. Joined into the lookup itself, so a beacon
    query is one round trip for the alleles and one for the consent filter."""

    assembly: str
    dataset_ids: frozenset[int] | None = None

    def filter(self, rows: QuerySet[Variant]) -> QuerySet[Variant]:
        rows = rows.filter(
            index__status=VariantIndexStatus.READY,
            index__assembly=self.assembly,
            index__file__dataset__status=DatasetStatus.RELEASED,
        )
        if self.dataset_ids is not None:
            rows = rows.filter(index__file__dataset_id__in=sorted(self.dataset_ids))
        return rows


def _found(rows: QuerySet[Variant]) -> list[tuple[IndexedFile, FoundVariant]]:
    found = []
    for row in rows.values(*_VARIANT_FIELDS, "carriers", *_FILE_FIELDS.values()):
        samples, contigs = _index_shape(row["index_id"])
        file = IndexedFile(
            index_id=row["index_id"],
            **{name: row[field] for name, field in _FILE_FIELDS.items()},
            samples=samples,
            contigs=contigs,
        )
        variant = FoundVariant(
            **{k: row[k] for k in _VARIANT_FIELDS}, carriers=bytes(row["carriers"])
        )
        found.append((file, variant))
    return found


# The beacon's lookups, written out: the ORM's compiling of this four-table join cost as much
# as PostgreSQL's answer to an allele query, and building a dict per row most of a 1 Mb
# range's time (benchmarks/bench_beacon.py); prepared, so planned once per connection. Same
# filters as VariantScope.
_LOOKUP_SQL = f"""
SELECT v.index_id, v.chrom, v.position, v.ref, v.alt, v.kind, v.carrier_count, v.carriers,
       f.dataset_id, d.accession, d.title, i.assembly
FROM {Variant._meta.db_table} v
JOIN {VariantIndex._meta.db_table} i ON i.id = v.index_id
JOIN {DataFile._meta.db_table} f ON f.id = i.file_id
JOIN {Dataset._meta.db_table} d ON d.id = f.dataset_id
WHERE i.status = %s AND i.assembly = %s AND d.status = %s AND v.chrom = %s AND {{where}}
ORDER BY {{order}}
"""  # noqa: S608 - table names from the models; every value is a parameter
_ALLELE_WHERE = "v.position = %s AND v.ref = %s AND v.alt = %s"
_RANGE_WHERE = "v.position BETWEEN %s AND %s"


@functools.cache
def _lookup_sql(where: str, order: str, kinds: int, datasets: int) -> str:
    if kinds:
        where += f" AND v.kind IN ({', '.join(['%s'] * kinds)})"
    if datasets:
        where += f" AND f.dataset_id IN ({', '.join(['%s'] * datasets)})"
    return _LOOKUP_SQL.format(where=where, order=order)


def _lookup(
    scope: VariantScope,
    chrom: str,
    where: str,
    values: list[Any],
    order: str,
    kinds: frozenset[str] | None = None,
) -> list[tuple[IndexedFile, FoundVariant]]:
    params: list[Any] = [VariantIndexStatus.READY.value, scope.assembly]
    params += [DatasetStatus.RELEASED.value, chrom, *values]
    params += sorted(kinds or ())
    params += sorted(scope.dataset_ids or ())
    if (scope.dataset_ids is not None and not scope.dataset_ids) or (
        kinds is not None and not kinds
    ):
        return []  # no dataset, or no kind of variant, is asked about
    sql = _lookup_sql(where, order, len(kinds or ()), len(scope.dataset_ids or ()))
    files: dict[int, IndexedFile] = {}
    found = []
    for row in fetch_prepared(sql, params, binary=True):
        index_id, chrom_, position, ref, alt, kind, count, carriers = row[:8]
        file = files.get(index_id)
        if file is None:
            dataset_id, accession, title, assembly = row[8:]
            samples, contigs = _index_shape(index_id)
            file = IndexedFile(index_id, dataset_id, accession, title, assembly, samples, contigs)
            files[index_id] = file
        variant = FoundVariant(
            index_id, chrom_, position, ref, alt, kind, count, carriers=bytes(carriers)
        )
        found.append((file, variant))
    return found


def variants_at(
    scope: VariantScope, *, chrom: str, position: int, ref: str, alt: str | None
) -> list[tuple[IndexedFile, FoundVariant]]:
    """The alleles at one position (VCF POS) with these reference bases; any alternate
    allele when `alt` is None."""
    if alt is not None:
        return _lookup(scope, chrom, _ALLELE_WHERE, [position, ref, alt], "v.index_id")
    rows = Variant.objects.filter(chrom=chrom, position=position, ref=ref)
    if alt is not None:
        rows = rows.filter(alt=alt)
    return _found(scope.filter(rows).order_by("index_id", "alt"))


def variants_in(
    scope: VariantScope, *, chrom: str, first: int, last: int, kinds: frozenset[str] | None
) -> list[tuple[IndexedFile, FoundVariant]]:
    """The alleles whose VCF POS is in [first, last], of the given kinds if any."""
    order = "v.position, v.index_id, v.ref, v.alt"
    return _lookup(scope, chrom, _RANGE_WHERE, [first, last], order, kinds)
