"""Deliveries: a grant holder asks for download links; a worker prepares them.

The consented sample set is computed when the links are issued, and re-checked (cheaply)
at every download by access.selectors.deliveries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from access import permissions, storage
from access.models import (
    Delivery,
    DeliveryFile,
    DeliveryParticipant,
    DeliveryStatus,
    Grant,
    SignedLink,
)
from access.notifications import notify
from access.selectors.consented import consenting_samples
from access.services.base import AccessConflict, AccessError, AccessProblems
from access.tasks import prepare_delivery_task
from access.transitions import DELIVERY_TRANSITIONS
from datasets import genomics
from datasets.models import INDEX_FORMATS, DataFile, DataFileFormat, FileStatus, Sample
from datasets.paths import data_root
from datasets.selectors import datafile_check_unchanged
from portal.audit import audit_log, state_version
from portal.exceptions import NotFoundError, PermissionError_, PortalError
from portal.models import User
from portal.transitions import transition

logger = logging.getLogger(__name__)

BROKER_DOWN = (
    "The download service could not queue the preparation of your files just now. "
    "Nothing was prepared; try again shortly."
)
MULTI_SAMPLE_FORMATS = frozenset({DataFileFormat.VCF_GZ, DataFileFormat.BCF})


class DeliveryActions:
    """Audit action names: grep finds every writer of an event."""

    REQUEST = "delivery.request"
    LINK_ISSUE = "signed_link.issue"
    REVOKE = "delivery.revoke"


class DeliveryUnavailable(AccessError):
    """A file cannot be delivered now; the delivery fails with this message."""

    code = "delivery_unavailable"
    http_status = 409


# --- asking for links ---------------------------------------------------------------------------


def _grant_problem(grant: Grant) -> str:
    if grant.revoked_at is not None:
        return "This grant was revoked: download links cannot be issued under it."
    if timezone.localdate() < grant.starts_on:
        return f"This grant starts on {grant.starts_on:%d %B %Y}: ask for links from then."
    return f"This grant ended on {grant.ends_on:%d %B %Y}: download links cannot be issued."


def _chosen_files(grant: Grant, datafile_ids: list[int] | None) -> list[int]:
    if not datafile_ids:
        return []
    wanted = sorted({int(i) for i in datafile_ids})
    found = set(
        DataFile.objects.filter(
            pk__in=wanted, dataset=grant.dataset, status=FileStatus.VALID, index_of__isnull=True
        )
        .exclude(format__in=sorted(INDEX_FORMATS))
        .values_list("pk", flat=True)
    )
    if missing := [i for i in wanted if i not in found]:
        raise AccessProblems(
            {
                "datafile_ids": [
                    f"No such data file in this dataset: {', '.join(map(str, missing))}."
                ]
            }
        )
    return wanted


def delivery_request(
    *,
    actor: User,
    grant: Grant,
    datafile_ids: list[int] | None = None,
    lifetime_seconds: int | None = None,
) -> Delivery:
    """Record a delivery in PREPARING and queue its preparation after commit.

    1. Only the grant's holder, while the grant is active.
    2. The chosen files must be validated data files of the grant's dataset (none: all).
    3. The task is queued after commit; if the broker cannot take it, the delivery is
       marked failed with a "try again shortly" message rather than left preparing forever.
    """
    if lifetime_seconds is not None and lifetime_seconds <= 0:
        raise AccessProblems({"lifetime_seconds": ["A link lifetime must be a positive number."]})
    with transaction.atomic(durable=True):
        locked = permissions.visible_grants(actor).filter(pk=grant.pk).first()
        if locked is None:
            raise NotFoundError("No such grant.")
        locked = Grant.objects.select_for_update().select_related("dataset").get(pk=grant.pk)
        if locked.grantee_id != actor.pk:
            raise PermissionError_("Only the holder of a grant can ask for its download links.")
        if not locked.is_active:
            raise AccessConflict(_grant_problem(locked))
        chosen = _chosen_files(locked, datafile_ids)
        delivery = Delivery.objects.create(
            grant=locked,
            requested_by=actor,
            datafile_ids=chosen,
            lifetime_seconds=lifetime_seconds,
        )
        audit_log(
            actor=actor,
            action=DeliveryActions.REQUEST,
            target=delivery,
            after={"grant": locked.pk, "datafile_ids": chosen, "lifetime": lifetime_seconds},
        )
        transaction.on_commit(partial(_dispatch, delivery.pk))
    return delivery


def _dispatch(delivery_id: int) -> None:
    try:
        prepare_delivery_task.delay(delivery_id)
    except (BrokerError, OSError):
        logger.warning("delivery %s: the broker refused the task", delivery_id, exc_info=True)
        delivery_fail(delivery_id=delivery_id, message=BROKER_DOWN)


def delivery_fail(*, delivery_id: int, message: str) -> Delivery | None:
    """Mark a delivery that is still preparing as failed, with a message for the researcher."""
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != DeliveryStatus.PREPARING:
            return None
        _fail(delivery, message)
    return delivery


def _fail(delivery: Delivery, message: str) -> None:
    transition(
        delivery,
        DeliveryStatus.FAILED,
        table=DELIVERY_TRANSITIONS,
        actor=None,
        reason=message,
        extra={"error": message},
    )
    notify(
        users=[delivery.requested_by],
        message=f"Your download links could not be prepared: {message}",
        url=reverse("access:delivery", args=[delivery.pk]),
    )


# --- preparing them -----------------------------------------------------------------------------


@dataclass
class _Planned:
    datafile: DataFile
    served_path: str
    size: int
    sha256: str
    index: DataFile | None = None
    # A derivative's own index: (path under the data root, size, SHA-256).
    index_served: tuple[str, int, str] | None = None
    # MD5s, for DRS clients that verify with it (a derivative's are computed with its SHA-256).
    md5: str = ""
    index_md5: str = ""


@dataclass
class _Plan:
    files: list[_Planned] = field(default_factory=list)
    samples: set[str] = field(default_factory=set)
    excluded: int = 0


DERIVATIVES = "derivatives"


@dataclass(frozen=True)
class CopyBuild:
    """A consent-filtered copy to build across workers: one chord subtask per region, then
    a join. Every field is plain data, so it travels in a task message as JSON."""

    source: str  # under the data root
    keep: list[str]
    target: str  # under the data root: derivatives/<file SHA-256>.<sample-set hash>.<ext>
    regions: list[tuple[str, int, int | None]]

    def as_message(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> CopyBuild:
        return cls(
            source=message["source"],
            keep=list(message["keep"]),
            target=message["target"],
            regions=[(c, int(s), None if e is None else int(e)) for c, s, e in message["regions"]],
        )

    def piece(self, number: int) -> Path:
        name = self.target.rsplit("/", 1)[-1]
        extension = ".bcf" if name.endswith(".bcf") else ".vcf.gz"
        # A hidden folder per copy, removed once the copy is joined.
        return data_root() / DERIVATIVES / f".{name}.pieces" / f"{number:05d}{extension}"


def _copy_target(datafile: DataFile, keep: list[str]) -> tuple[str, Path, Path]:
    """(path under the data root, absolute path, absolute index path) of a filtered copy."""
    fmt = "bcf" if datafile.format == DataFileFormat.BCF else "vcf.gz"
    name = genomics.cache_name(datafile.sha256, genomics.samples_hash(keep), fmt)
    relative = f"{DERIVATIVES}/{name}"
    target = data_root() / relative
    index_suffix = ".csi" if fmt == "bcf" or _index_format(datafile) == "csi" else ".tbi"
    return relative, target, target.with_name(target.name + index_suffix)


def consent_filtered_copy(datafile: DataFile, keep: list[str]) -> _Planned:
    """The consent-filtered copy of a multi-sample VCF/BCF holding only `keep`.

    Cached under CUSTODIAN_DATA_ROOT/derivatives/ by (the file's SHA-256, the sample set's
    hash), so identical deliveries share one copy. A chord of workers normally built it
    already (`delivery_copies_to_build`); if not (consent moved between the plan and now),
    it is built here. The builder writes under temporary names and renames the index, then
    the data, into place: a copy that exists is complete, and a crash midway leaves nothing
    that could be served.
    """
    datafile_check_unchanged(datafile)
    relative, target, index = _copy_target(datafile, keep)
    if not (target.exists() and index.exists()):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            genomics.build_filtered_copy(data_root() / datafile.path, keep, target)
        except (ValueError, genomics.GenomicFileError) as exc:
            raise DeliveryUnavailable(
                f"the consent-filtered copy of {datafile.path} could not be built: {exc}"
            ) from exc
    sums = genomics.kept_checksums(target)
    index_sums = genomics.kept_checksums(index)
    return _Planned(
        datafile,
        relative,
        sums.size,
        sums.sha256,
        datafile.index if hasattr(datafile, "index") else None,
        index_served=(f"{DERIVATIVES}/{index.name}", index_sums.size, index_sums.sha256),
        md5=sums.md5,
        index_md5=index_sums.md5,
    )


def _index_suffix(index_path: str) -> str:
    """The index extension tools expect after the data file's name (.bai, .tbi, .csi, .crai)."""
    name = index_path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1]


def _index_format(datafile: DataFile) -> str:
    index = getattr(datafile, "index", None)
    return "csi" if index is not None and index.format == DataFileFormat.CSI else "tbi"


def _as_is(datafile: DataFile) -> _Planned:
    index = getattr(datafile, "index", None)
    for file in (datafile, index):
        if file is not None:
            datafile_check_unchanged(file)
    return _Planned(
        datafile,
        datafile.path,
        datafile.size or 0,
        datafile.sha256,
        index,
        md5=datafile.md5,
        index_md5=index.md5 if index is not None else "",
    )


def _choices(delivery: Delivery) -> tuple[list[tuple[DataFile, list[str] | None]], int]:
    """What each chosen file contributes now: (file, None) served as is, (file, kept
    samples) for a consent-filtered copy; and how many files are left out entirely."""
    grant = delivery.grant
    files = DataFile.objects.filter(
        dataset=grant.dataset, status=FileStatus.VALID, index_of__isnull=True
    ).exclude(format__in=sorted(INDEX_FORMATS))
    if delivery.datafile_ids:
        files = files.filter(pk__in=delivery.datafile_ids)
    files = files.select_related("index").order_by("path")
    consented = set(
        consenting_samples(grant.request, grant.dataset).values_list("sample_id", flat=True)
    )
    chosen: list[tuple[DataFile, list[str] | None]] = []
    excluded = 0
    for datafile in files:
        samples = list(datafile.samples or [])
        if not samples:
            raise DeliveryUnavailable(
                f"{datafile.path} names no sample, so whose consent covers it cannot be checked."
            )
        keep = [s for s in samples if s in consented]
        if len(keep) == len(samples):
            chosen.append((datafile, None))
        elif not keep or (len(samples) == 1 or datafile.format not in MULTI_SAMPLE_FORMATS):
            # A single-sample file is delivered whole or not at all.
            excluded += 1
        else:
            chosen.append((datafile, keep))
    if not chosen:
        raise DeliveryUnavailable(
            "None of the chosen files holds a sample whose participant consents to this "
            "use now, so there is nothing to deliver."
        )
    return chosen, excluded


def _plan(delivery: Delivery) -> _Plan:
    chosen, excluded = _choices(delivery)
    plan = _Plan(excluded=excluded)
    for datafile, keep in chosen:
        if keep is None:
            plan.files.append(_as_is(datafile))
            plan.samples.update(datafile.samples or [])
        else:
            plan.files.append(consent_filtered_copy(datafile, keep))
            plan.samples.update(keep)
    return plan


# --- building copies across workers (a Celery chord) ---------------------------------------


def delivery_copies_to_build(*, delivery_id: int) -> list[CopyBuild]:
    """The consent-filtered copies a preparing delivery needs that are not built yet, each
    cut into index-aligned regions for a chord of workers.

    Reads only. Empty when there is nothing to build, and also when the delivery cannot be
    prepared (no longer preparing, grant inactive, file changed, nothing consented):
    `delivery_prepare` then finds and records the reason in one place.
    """
    delivery = (
        Delivery.objects.select_related("grant__request", "grant__dataset")
        .filter(pk=delivery_id, status=DeliveryStatus.PREPARING)
        .first()
    )
    if delivery is None or not delivery.grant.is_active:
        return []
    builds = []
    try:
        chosen, _excluded = _choices(delivery)
        for datafile, keep in chosen:
            if keep is None:
                continue
            relative, target, index = _copy_target(datafile, keep)
            if target.exists() and index.exists():
                continue
            source = datafile_check_unchanged(datafile)
            planned = genomics.regions(source)
            builds.append(
                CopyBuild(
                    source=datafile.path,
                    keep=keep,
                    target=relative,
                    regions=[(r.contig, r.start, r.end) for r in planned],
                )
            )
    except (PortalError, genomics.GenomicFileError, ValueError):
        return []
    return builds


def copy_piece_build(*, build: CopyBuild, number: int) -> Path:
    """Filter one region of a copy into its piece (kept if a finished one is there)."""
    piece = build.piece(number)
    if not piece.exists():
        contig, start, end = build.regions[number]
        piece.parent.mkdir(parents=True, exist_ok=True)
        genomics.write_piece(
            data_root() / build.source, genomics.Region(contig, start, end), build.keep, piece
        )
    return piece


def copy_join(*, build: CopyBuild) -> None:
    """Join a copy's pieces and index it, building here any piece the chord did not leave
    (a lost or repeated subtask), then remove the pieces. Another delivery that built the
    same copy meanwhile is no error: the copy is there."""
    target = data_root() / build.target
    index_format = genomics.copy_index_format(data_root() / build.source)
    index = target.with_name(f"{target.name}.{index_format.value}")
    if target.exists() and index.exists():
        return
    try:
        pieces = [copy_piece_build(build=build, number=n) for n in range(len(build.regions))]
        genomics.join_pieces(pieces, target, index_format)
    except (OSError, genomics.GenomicFileError):
        if not (target.exists() and index.exists()):
            raise
    shutil.rmtree(build.piece(0).parent, ignore_errors=True)


def delivery_building(*, delivery_id: int, builds: list[CopyBuild]) -> int:
    """Record how many region pieces the chord about to be queued will build (progress)."""
    total = sum(len(build.regions) for build in builds)
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).update(
        pieces_total=total, pieces_done=0
    )
    return total


def _build_problem(build: CopyBuild, exc: Exception) -> str:
    """What the researcher reads: the file's own problem, or no internals for the rest."""
    if isinstance(exc, (ValueError, genomics.GenomicFileError)):
        return f"the consent-filtered copy of {build.source} could not be built: {exc}"
    return (
        f"the consent-filtered copy of {build.source} could not be built because of a problem "
        "on our side (it is in the workers' log); ask for the links again in a while."
    )


def delivery_copy_piece(*, delivery_id: int, build: CopyBuild, number: int) -> bool:
    """A chord subtask's work; a piece that cannot be built fails the delivery with why."""
    if not Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).exists():
        return False
    try:
        copy_piece_build(build=build, number=number)
        # For the progress shown while preparing (a redelivered piece may count twice: the
        # page never shows more than the total).
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).update(
            pieces_done=F("pieces_done") + 1
        )
    # Whatever stops it (a bad file, a full disk, the time limit), the delivery must fail
    # with the reason rather than wait for a join that cannot come.
    except Exception as exc:  # noqa: BLE001
        logger.warning("delivery %s: piece %s failed", delivery_id, number, exc_info=True)
        delivery_fail(delivery_id=delivery_id, message=_build_problem(build, exc))
        return False
    return True


def delivery_copies_join(*, delivery_id: int, builds: list[CopyBuild]) -> Delivery | None:
    """The chord's join: finish each copy, then prepare the delivery (which finds them)."""
    if not Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).exists():
        return None
    try:
        for build in builds:
            copy_join(build=build)
    # Whatever stops it (a bad file, a full disk, the time limit), the delivery must fail
    # with the reason rather than wait for a join that cannot come.
    except Exception as exc:  # noqa: BLE001
        logger.warning("delivery %s: joining failed", delivery_id, exc_info=True)
        return delivery_fail(delivery_id=delivery_id, message=_build_problem(build, exc))
    return delivery_prepare(delivery_id=delivery_id)


def sample_set_hash(sample_ids: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(sample_ids)).encode()).hexdigest()


def grant_end_at(grant: Grant) -> dt.datetime:
    """The first instant after the grant's last day (local time)."""
    day_after = grant.ends_on + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day_after, dt.time.min))


def link_expiry(delivery: Delivery, now: dt.datetime) -> dt.datetime:
    """The smallest of the configured maximum, the grant's end and the lifetime asked for."""
    maximum = dt.timedelta(seconds=settings.CUSTODIAN_LINK_MAX_SECONDS)
    limits = [now + maximum, grant_end_at(delivery.grant)]
    if delivery.lifetime_seconds:
        limits.append(now + dt.timedelta(seconds=delivery.lifetime_seconds))
    return min(limits)


def _index_served(planned: _Planned) -> tuple[str, int, str] | None:
    """(path under the data root, size, SHA-256) of the index served with a planned file."""
    if planned.index is None:
        return None
    return planned.index_served or (
        planned.index.path,
        planned.index.size or 0,
        planned.index.sha256,
    )


def _publish(plan: _Plan) -> None:
    """Copy every served file to the object storage, if deliveries use one (nothing with the
    portal's own): before any link is issued, so a refusal leaves no half-issued delivery."""
    for planned in plan.files:
        storage.publish(planned.served_path, sha256=planned.sha256, size=planned.size)
        if (index := _index_served(planned)) is not None:
            storage.publish(index[0], sha256=index[2], size=index[1])


def _issue(delivery: Delivery, plan: _Plan, now: dt.datetime) -> None:
    expires = link_expiry(delivery, now)
    set_hash = sample_set_hash(plan.samples)
    for planned in plan.files:
        data = DeliveryFile.objects.create(
            delivery=delivery,
            datafile=planned.datafile,
            served_path=planned.served_path,
            # The researcher's copy keeps the source's name, whatever it is stored under.
            name=planned.datafile.name,
            size=planned.size,
            sha256=planned.sha256,
            md5=planned.md5,
        )
        served = [data]
        if (index_served := _index_served(planned)) is not None and planned.index is not None:
            index_path, index_size, index_sha256 = index_served
            served.append(
                DeliveryFile.objects.create(
                    delivery=delivery,
                    datafile=planned.index,
                    served_path=index_path,
                    name=planned.datafile.name + _index_suffix(index_path),
                    size=index_size,
                    sha256=index_sha256,
                    md5=planned.index_md5,
                    is_index=True,
                    index_of=data,
                )
            )
        for file in served:
            link = SignedLink.objects.create(delivery_file=file, expires_at=expires, created_at=now)
            audit_log(
                actor=delivery.requested_by,
                action=DeliveryActions.LINK_ISSUE,
                target=link,
                after={
                    "delivery": delivery.pk,
                    "file": file.served_path,
                    "sample_set_hash": set_hash,
                    "expires_at": expires.isoformat(),
                },
            )


def delivery_prepare(*, delivery_id: int) -> Delivery | None:
    """Prepare a delivery once; None if it is no longer preparing (a rerun is a no-op).

    1. Lock the delivery; stop unless it is still PREPARING.
    2. Re-check the grant, the consented sample set (one query) and each file on disk.
    3. Record the participants included, the sample-set hash and the consent stamp.
    4. Issue one audited link per file and index; move to READY; notify the researcher.
    A refusal at step 2 moves it to FAILED with the reason instead.
    """
    with transaction.atomic(durable=True):
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("grant__request", "grant__dataset", "requested_by")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PREPARING:
            return None
        # Read before the consented set: any consent change after it moves the version.
        stamp = state_version()
        try:
            if not delivery.grant.is_active:
                raise AccessConflict(_grant_problem(delivery.grant))
            plan = _plan(delivery)
            _publish(plan)
        except PortalError as exc:
            _fail(delivery, exc.message)
            return delivery
        DeliveryParticipant.objects.bulk_create(
            DeliveryParticipant(delivery=delivery, participant_id=pid)
            for pid in Sample.objects.filter(
                dataset=delivery.grant.dataset, sample_id__in=sorted(plan.samples)
            )
            .values_list("participant_id", flat=True)
            .distinct()
        )
        now = timezone.now()
        _issue(delivery, plan, now)
        transition(
            delivery,
            DeliveryStatus.READY,
            table=DELIVERY_TRANSITIONS,
            actor=None,
            extra={
                "ready_at": now,
                "sample_set_hash": sample_set_hash(plan.samples),
                "consent_stamp": stamp,
                "excluded_files": plan.excluded,
            },
        )
        notify(
            users=[delivery.requested_by],
            message=(
                f"Your download links for {delivery.grant.dataset.title} under "
                f"{delivery.grant.request.accession} are ready."
            ),
            url=reverse("access:delivery", args=[delivery.pk]),
        )
    return delivery


# --- revoking one delivery's links ------------------------------------------------------------

REVOKE_REFUSED = (
    "Only the researcher who asked for these links, a chair of a committee reviewing the "
    "request or a data steward can revoke them."
)


def delivery_revoke(*, actor: User, delivery: Delivery, reason: str) -> int:
    """Stop every link of one delivery at once (a link leaked), leaving the grant as it is.

    1. The requester, a chair of a committee reviewing the request, or a steward. Anyone who
       cannot see the delivery gets the same 404 as a missing one; a committee member who
       does not chair, a 403.
    2. Lock the delivery: one still preparing, failed, or already revoked is a 409.
    3. Set `revoked_at` on all its links in one statement (every download checks it), audit
       it, and tell the requester when someone else revoked them.
    Returns how many links were revoked.
    """
    reason = (reason or "").strip()
    with transaction.atomic(durable=True):
        locked = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("grant__request", "grant__dataset", "requested_by")
            .filter(pk=delivery.pk)
            .first()
        )
        rights = permissions.delivery_rights(actor, locked) if locked is not None else None
        if locked is None or rights is None or not rights.view:
            raise NotFoundError("No such delivery.")
        if not rights.revoke:
            raise PermissionError_(REVOKE_REFUSED)
        if not reason:
            raise AccessProblems(
                {"reason": ["Give the reason for revoking these links; it is kept in the audit."]}
            )
        if locked.status == DeliveryStatus.PREPARING:
            raise AccessConflict(
                "These links are still being prepared, so there is nothing to revoke yet. "
                "Revoke them once they are ready, or revoke the grant to stop them being issued."
            )
        if locked.status == DeliveryStatus.FAILED:
            raise AccessConflict("This delivery failed: it has no links to revoke.")
        now = timezone.now()
        links = SignedLink.objects.filter(delivery_file__delivery=locked)
        revoked = links.filter(revoked_at__isnull=True).update(revoked_at=now)
        if not revoked:
            raise AccessConflict("These links were already revoked: they no longer work.")
        request = locked.grant.request
        audit_log(
            actor=actor,
            action=DeliveryActions.REVOKE,
            target=locked,
            after={"request": request.accession, "links": revoked, "reason": reason},
        )
        if locked.requested_by_id != actor.pk:
            notify(
                users=[locked.requested_by],
                message=(
                    f"Your download links for {locked.grant.dataset.title} under "
                    f"{request.accession} were revoked by {actor.full_name or actor.email}: "
                    f"{reason}"
                ),
                url=reverse("access:delivery", args=[locked.pk]),
                template="access/email/notice.txt",
            )
    return revoked
