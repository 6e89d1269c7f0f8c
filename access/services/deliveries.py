"""Deliveries: a grant holder asks for download links; a worker prepares them.

The consented sample set is computed when the links are issued, and re-checked (cheaply)
at every download by access.selectors.deliveries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from access import permissions
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
from access.transitions import DELIVERY_TRANSITIONS
from datasets import genomics
from datasets.models import INDEX_FORMATS, DataFile, DataFileFormat, FileStatus, Sample
from datasets.paths import data_root
from datasets.selectors import datafile_check_unchanged
from portal.audit import audit_log, ledger_head
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
    # Imported here: the task module imports this one.
    from access.tasks import prepare_delivery_task

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


@dataclass
class _Plan:
    files: list[_Planned] = field(default_factory=list)
    samples: set[str] = field(default_factory=set)
    excluded: int = 0


DERIVATIVES = "derivatives"


def consent_filtered_copy(datafile: DataFile, keep: list[str]) -> _Planned:
    """The consent-filtered copy of a multi-sample VCF/BCF holding only `keep`.

    Cached under CUSTODIAN_DATA_ROOT/derivatives/ by (the file's SHA-256, the sample set's
    hash), so identical deliveries share one copy. The builder writes under temporary names
    and renames the index, then the data, into place: a copy that exists is complete, and a
    crash midway leaves nothing that could be served.
    """
    datafile_check_unchanged(datafile)
    fmt = "bcf" if datafile.format == DataFileFormat.BCF else "vcf.gz"
    name = genomics.cache_name(datafile.sha256, genomics.samples_hash(keep), fmt)
    relative = f"{DERIVATIVES}/{name}"
    target = data_root() / relative
    index_suffix = ".csi" if fmt == "bcf" or _index_format(datafile) == "csi" else ".tbi"
    index = target.with_name(target.name + index_suffix)
    if not (target.exists() and index.exists()):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            genomics.build_filtered_copy(data_root() / datafile.path, keep, target)
        except (ValueError, genomics.GenomicFileError) as exc:
            raise DeliveryUnavailable(
                f"the consent-filtered copy of {datafile.path} could not be built: {exc}"
            ) from exc
    sums = genomics.compute_checksums(target)
    index_sums = genomics.compute_checksums(index)
    return _Planned(
        datafile,
        relative,
        sums.size,
        sums.sha256,
        datafile.index if hasattr(datafile, "index") else None,
        index_served=(f"{DERIVATIVES}/{index.name}", index_sums.size, index_sums.sha256),
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
    return _Planned(datafile, datafile.path, datafile.size or 0, datafile.sha256, index)


def _plan(delivery: Delivery) -> _Plan:
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
    plan = _Plan()
    for datafile in files:
        samples = list(datafile.samples or [])
        if not samples:
            raise DeliveryUnavailable(
                f"{datafile.path} names no sample, so whose consent covers it cannot be checked."
            )
        keep = [s for s in samples if s in consented]
        if len(keep) == len(samples):
            plan.files.append(_as_is(datafile))
        elif not keep or (len(samples) == 1 or datafile.format not in MULTI_SAMPLE_FORMATS):
            # A single-sample file is delivered whole or not at all.
            plan.excluded += 1
            continue
        else:
            plan.files.append(consent_filtered_copy(datafile, keep))
        plan.samples.update(keep)
    if not plan.files:
        raise DeliveryUnavailable(
            "None of the chosen files holds a sample whose participant consents to this "
            "use now, so there is nothing to deliver."
        )
    return plan


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
        )
        served = [data]
        if planned.index is not None:
            index_path, index_size, index_sha256 = planned.index_served or (
                planned.index.path,
                planned.index.size or 0,
                planned.index.sha256,
            )
            served.append(
                DeliveryFile.objects.create(
                    delivery=delivery,
                    datafile=planned.index,
                    served_path=index_path,
                    name=planned.datafile.name + _index_suffix(index_path),
                    size=index_size,
                    sha256=index_sha256,
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
        # Read before the consented set: any consent change after it moves the head.
        stamp = ledger_head()
        try:
            if not delivery.grant.is_active:
                raise AccessConflict(_grant_problem(delivery.grant))
            plan = _plan(delivery)
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
