from __future__ import annotations

import json
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consent.duo import DataUseConditions
from consent.models import CurrentConsent, Participant

ACCESSION_PREFIX = "CDS"


def accession_for(pk: int) -> str:
    """CDS000001…: derived from the primary key, which the database never hands out twice."""
    return f"{ACCESSION_PREFIX}{pk:06d}"


class CommitteeKind(models.TextChoices):
    DAC = "dac", "Data access committee"
    COMMUNITY = "community", "Community governance committee"


class Committee(models.Model):
    """A committee that governs data: a dataset's DAC, or a community's own governance body.

    A request needs the approval of the DAC of each dataset it asks for, and of the
    community committee of every community whose members' samples those datasets hold.
    Chairs are members too: they vote like any member, and also record the decision.
    """

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=CommitteeKind.choices, default=CommitteeKind.DAC)
    contact_email = models.EmailField()
    description = models.TextField(blank=True)
    chairs = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="chaired_committees", blank=True
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="committees", blank=True
    )
    # Votes needed for a decision; null means a majority of the members who may vote.
    quorum = models.PositiveSmallIntegerField(null=True, blank=True)
    # Conflict of interest: members from the applicant's institution are recused.
    recuse_same_institution = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_community(self) -> bool:
        return self.kind == CommitteeKind.COMMUNITY


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"
    RETIRED = "retired", "Retired"


class Dataset(models.Model):
    """Files and samples released together under one DAC and one set of DUO conditions.

    The condition columns map one to one onto `consent.duo.DataUseConditions`; terms are
    stored as DUO shorthands (GRU, NCU…), diseases as ontology ids (MONDO:…).
    """

    # Null until the creating transaction has its primary key (see accession_for).
    accession = models.CharField(  # noqa: DJ001 - NULLs do not collide in the unique index
        max_length=16, unique=True, null=True, editable=False
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="datasets")
    status = models.CharField(
        max_length=10, choices=DatasetStatus.choices, default=DatasetStatus.DRAFT
    )
    permission = models.CharField("DUO permission", max_length=10)
    modifiers = models.JSONField("DUO modifiers", default=list, blank=True)
    diseases = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    time_limit = models.DateField("time limit (TS): last day of use", null=True, blank=True)
    moratorium_until = models.DateField(
        "publication moratorium (MOR): first day results may be published", null=True, blank=True
    )
    users = models.JSONField(default=list, blank=True)
    projects = models.JSONField(default=list, blank=True)
    institutions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["accession"]

    def __str__(self) -> str:
        return f"{self.accession} {self.title}"

    @property
    def conditions(self) -> DataUseConditions:
        """The DUO conditions; raises InvalidConditionsError if the columns are inconsistent."""
        return DataUseConditions(
            permission=self.permission,
            diseases=frozenset(self.diseases),
            modifiers=frozenset(self.modifiers),
            countries=frozenset(self.countries),
            time_limit=self.time_limit,
            moratorium_until=self.moratorium_until,
            users=frozenset(self.users),
            projects=frozenset(self.projects),
            institutions=frozenset(self.institutions),
        )


class DataFileFormat(models.TextChoices):
    """What may be registered: data files and the indexes linked to them."""

    BAM = "bam", "BAM"
    CRAM = "cram", "CRAM"
    VCF_GZ = "vcf.gz", "VCF.gz"
    BCF = "bcf", "BCF"
    BAI = "bai", "BAI"
    CRAI = "crai", "CRAI"
    TBI = "tbi", "TBI"
    CSI = "csi", "CSI"


INDEX_FORMATS = frozenset(
    {DataFileFormat.BAI, DataFileFormat.CRAI, DataFileFormat.TBI, DataFileFormat.CSI}
)


class FileStatus(models.TextChoices):
    PENDING = "pending", "Waiting for validation"
    VALIDATING = "validating", "Validating"
    VALID = "valid", "Valid"
    FAILED = "failed", "Failed"


class DataFile(models.Model):
    """A file under CUSTODIAN_DATA_ROOT; an index file points at its data file."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    # Relative to the data root, with forward slashes; resolved (and checked) at each use.
    path = models.CharField(max_length=1024)
    format = models.CharField(max_length=8, choices=DataFileFormat.choices)
    index_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="index"
    )
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    md5 = models.CharField("MD5", max_length=32, blank=True)
    # The file's st_mtime_ns when it was validated: the cheap "changed since?" check.
    mtime_ns = models.BigIntegerField(null=True, blank=True)
    reference_genome = models.CharField(max_length=20, blank=True)
    contigs = models.JSONField(default=list, blank=True)
    samples = models.JSONField("sample IDs in the file", default=list, blank=True)
    record_count = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=FileStatus.choices, default=FileStatus.PENDING)
    validation_message = models.TextField(blank=True)
    problems = models.JSONField(default=list, blank=True)
    # Progress of the checksum pass, written by the worker while it reads the file.
    bytes_hashed = models.BigIntegerField(default=0)
    validated_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "data file"
        ordering: ClassVar = ["dataset", "path"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dataset", "path"], name="datasets_file_path_once"),
            models.CheckConstraint(
                condition=Q(index_of__isnull=True) | Q(format__in=sorted(INDEX_FORMATS)),
                name="datasets_file_only_indexes_point_to_data",
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_index(self) -> bool:
        return self.format in INDEX_FORMATS

    @property
    def progress_percent(self) -> int:
        if not self.size:
            return 100 if self.status == FileStatus.VALID else 0
        return min(100, self.bytes_hashed * 100 // self.size)


class LinkStatus(models.TextChoices):
    UNRESOLVED = "unresolved", "Not linked yet"
    LINKED = "linked", "Linked to a participant"
    UNLINKED = "unlinked", "Deliberately unlinked (never delivered)"


class Sample(models.Model):
    """A sample ID found in the dataset's files, and the participant it belongs to."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="samples")
    sample_id = models.CharField("sample ID", max_length=200)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="samples"
    )
    link = models.CharField(
        max_length=12, choices=LinkStatus.choices, default=LinkStatus.UNRESOLVED
    )
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The participant's current consent, joined straight on participant_id: the consent
    # counts of 100,000 samples then skip the participant table (no column of its own).
    current_consent = models.ForeignObject(
        CurrentConsent,
        on_delete=models.DO_NOTHING,
        from_fields=["participant"],
        to_fields=["participant"],
        related_name="+",
        null=True,
    )
    # The community whose governance committee must also approve any use of this sample.
    community = models.ForeignKey(
        Committee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="community_samples",
        limit_choices_to={"kind": CommitteeKind.COMMUNITY},
    )

    class Meta:
        ordering: ClassVar = ["dataset", "sample_id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dataset", "sample_id"], name="datasets_sample_once"),
            # A participant exactly when linked: an unlinked sample can never be delivered.
            models.CheckConstraint(
                condition=(Q(link=LinkStatus.LINKED) & Q(participant__isnull=False))
                | (~Q(link=LinkStatus.LINKED) & Q(participant__isnull=True)),
                name="datasets_sample_participant_iff_linked",
            ),
        ]

    def __str__(self) -> str:
        return self.sample_id


class InArray(models.Lookup):
    """`pk__in_array=[...]`: the values as one array parameter (PostgreSQL's `= ANY`), not
    one parameter each as `__in` does: a beacon query asks about up to thousands of carrier
    samples, and compiling and planning thousands of parameters cost more than the query."""

    lookup_name = "in_array"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The column is compiled by Django; the values travel as one parameter.
        values = json.dumps([int(v) for v in self.rhs])
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, values)  # noqa: S608

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, [int(v) for v in self.rhs])


Sample._meta.pk.register_lookup(InArray)  # type: ignore[union-attr]


class VariantIndexStatus(models.TextChoices):
    BUILDING = "building", "Being built"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class VariantIndex(models.Model):
    """The beacon's index of one released VCF.gz/BCF file: its variants and their carriers.

    Built once when the dataset is released. Consent never changes it: who may be counted is
    decided at query time (sample -> participant -> current consent), so a withdrawal takes
    effect on the next query without touching these rows.
    """

    file = models.OneToOneField(DataFile, on_delete=models.CASCADE, related_name="variant_index")
    status = models.CharField(
        max_length=10, choices=VariantIndexStatus.choices, default=VariantIndexStatus.BUILDING
    )
    # Copied from the file when the build starts: queries filter on it without a join.
    assembly = models.CharField(max_length=20, blank=True)
    # The Sample primary key of each sample column of the file, in column order: bit i of a
    # variant's carrier bitmap is sample_pks[i].
    sample_pks = models.JSONField(default=list, blank=True)
    variant_count = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "variant index"
        verbose_name_plural = "variant indexes"

    def __str__(self) -> str:
        return f"variant index of {self.file_id} ({self.status})"


class Variant(models.Model):
    """One alternate allele at one position of an indexed file, with the columns carrying it.

    `carriers` is a bitmap over the file's sample columns (see VariantIndex.sample_pks):
    313 bytes at 2,504 samples, chosen over an int[] of sample ids and over one row per
    carrier by measurement (docs/beacon.md).
    """

    index = models.ForeignKey(VariantIndex, on_delete=models.CASCADE, related_name="variants")
    chrom = models.CharField(max_length=64)
    position = models.PositiveIntegerField("VCF POS (1-based)")
    ref = models.TextField()
    alt = models.TextField()
    kind = models.CharField(max_length=4)
    carrier_count = models.PositiveIntegerField()
    carriers = models.BinaryField()

    class Meta:
        indexes: ClassVar = [
            # Sequence and range queries both look up (chromosome, position) first.
            models.Index(fields=["chrom", "position"], name="datasets_variant_locus"),
        ]

    def __str__(self) -> str:
        return f"{self.chrom}:{self.position} {self.ref}>{self.alt}"
