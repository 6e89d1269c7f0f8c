"""GA4GH DRS reads: object ids, what a caller may see of a file, and the access URL of a
delivery already prepared. The one write DRS makes (asking for a delivery) is in
access/services/drs.py; the views only turn these results into DRS JSON.

Object ids (stable, URL-safe, never reused: primary keys are never handed out twice):
- a registered file (data file or index): `<dataset accession>-<data file id>`;
- a consent-filtered copy of one: `<source id>.<first 16 hex digits of the sample-set hash>`
  (the same sample set of the same file is the same copy, whoever asked for it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from access import permissions, storage
from access.models import Delivery, DeliveryFile, DeliveryStatus, Grant, SignedLink
from access.selectors.consented import consenting_samples
from access.selectors.deliveries import delivery_consent_holds, link_url
from access.selectors.visas import dataset_url
from access.services.deliveries import DERIVATIVES, MULTI_SAMPLE_FORMATS, grant_end_at
from access.visas import visa_subject, visa_verify
from datasets import genomics
from datasets.models import DataFile, DataFileFormat, DatasetStatus, FileStatus
from portal.audit import state_version
from portal.exceptions import NotFoundError, PermissionError_, PortalError
from portal.models import User

ACCESS_ID = "https"
# Seconds a client is told to wait while a delivery is prepared (DRS 202 Retry-After).
RETRY_AFTER_SECONDS = 5
# A link is only handed out with at least this long left (or a quarter of the configured
# lifetime, if shorter), so a client is not given a URL that dies before its first read.
MIN_LINK_LEFT_SECONDS = 60
HASH_DIGITS = 16
# Kept sample sets per (grant, file, ledger head): a stale entry is never read again.
KEPT_CACHE_SECONDS = 3600

_OBJECT_ID = re.compile(
    r"(?P<accession>[A-Z]{2,10}[0-9]{1,12})-(?P<file>[1-9][0-9]{0,17})"
    rf"(?:\.(?P<hash>[0-9a-f]{{{HASH_DIGITS}}}))?"
)
_MIME_TYPES: dict[str, str] = {
    DataFileFormat.BAM: "application/x-bam",
    DataFileFormat.CRAM: "application/x-cram",
    DataFileFormat.VCF_GZ: "application/gzip",
    DataFileFormat.BCF: "application/x-bcf",
}


class DrsError(PortalError):
    """A DRS refusal; the views render it as DRS's Error {msg, status_code}."""

    code = "drs_error"


# --- ids ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectId:
    accession: str
    datafile_id: int
    sample_hash: str | None = None

    def __str__(self) -> str:
        source = f"{self.accession}-{self.datafile_id}"
        return f"{source}.{self.sample_hash}" if self.sample_hash else source


def object_id_parse(value: str) -> ObjectId:
    match = _OBJECT_ID.fullmatch(value)
    if match is None:
        raise NotFoundError(
            f"There is no DRS object {value!r}: ids here look like CDS000001-12 (a file) or "
            "CDS000001-12.0123456789abcdef (a consent-filtered copy of it)."
        )
    return ObjectId(match["accession"], int(match["file"]), match["hash"])


def self_uri(object_id: ObjectId) -> str:
    """A hostname-based DRS URI naming the portal's public address (SITE_URL)."""
    host = urlsplit(settings.SITE_URL).netloc or "localhost"
    return f"drs://{host}/{object_id}"


# --- what DRS answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """A DrsObject: one file, as registered or as a consent-filtered copy."""

    id: ObjectId
    name: str
    size: int
    sha256: str
    md5: str
    created: dt.datetime
    mime_type: str

    def as_drs(self) -> dict[str, Any]:
        checksums = [{"checksum": self.sha256, "type": "sha-256"}]
        if self.md5:
            checksums.append({"checksum": self.md5, "type": "md5"})
        created = self.created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return {
            "id": str(self.id),
            "name": self.name,
            "self_uri": self_uri(self.id),
            "size": self.size,
            "created_time": created,
            "updated_time": created,
            "version": self.sha256,
            "mime_type": self.mime_type,
            "checksums": checksums,
            "access_methods": [{"type": "https", "access_id": ACCESS_ID}],
        }


@dataclass(frozen=True)
class Preparing:
    """A delivery holding the file is being prepared: 202 with Retry-After."""

    delivery_id: int
    retry_after: int = RETRY_AFTER_SECONDS


@dataclass
class NeedsDelivery:
    """Nothing usable is prepared: a delivery of these data files under `grant` is needed."""

    grant: Grant
    datafile_ids: list[int]


@dataclass(frozen=True)
class AccessUrl:
    url: str
    expires_at: dt.datetime

    def as_drs(self) -> dict[str, Any]:
        # The URL carries its own signature: no header is needed to fetch it.
        return {"url": self.url, "headers": []}


@dataclass(frozen=True)
class Caller:
    """Who asks, and how far their credential reaches.

    `datasets` is None for a token or session (the user's own grants count); with only a
    passport, the datasets its ControlledAccessGrants visas name (ids). `may_download` is
    the credential's scope (access/selectors/drs.py `credential_may_download`).
    """

    user: User
    may_download: bool = True
    datasets: frozenset[int] | None = None
    # portal.audit.state_version as read with the credential (a personal API token brings
    # it from the same query); None: read it when needed.
    state_version: str | None = None


def credential_caller(user: User, auth: object) -> Caller:
    """The caller behind a signed-in session or a personal API token."""
    return Caller(
        user,
        may_download=credential_may_download(auth),
        state_version=getattr(auth, "state_version", None),
    )


def credential_may_download(auth: object) -> bool:
    """The one place DRS asks whether the request's credential may download.

    A personal API token answers through `allows("download")`; a session, a scope-less
    token or a passport whose visas verified may.
    """
    allows = getattr(auth, "allows", None)
    if callable(allows):
        return bool(allows("download"))
    return True


# --- resolving an id for a caller ------------------------------------------------------------


def _file_of(object_id: ObjectId) -> DataFile:
    datafile = (
        DataFile.objects.select_related("dataset", "index_of")
        .filter(
            pk=object_id.datafile_id,
            dataset__accession=object_id.accession,
            status=FileStatus.VALID,
        )
        .first()
    )
    if datafile is None:
        raise NotFoundError(f"There is no DRS object {object_id}.")
    return datafile


def _grants(caller: Caller, datafile: DataFile) -> list[Grant]:
    """The caller's active grants on the file's dataset, newest first."""
    if caller.datasets is not None and datafile.dataset_id not in caller.datasets:
        return []
    today = timezone.localdate()
    return list(
        Grant.objects.filter(
            grantee=caller.user,
            dataset_id=datafile.dataset_id,
            revoked_at__isnull=True,
            starts_on__lte=today,
            ends_on__gte=today,
        )
        .select_related("request", "dataset")
        .order_by("-starts_on", "-pk")
    )


def _kept(grant: Grant, data: DataFile, head: str) -> list[str]:
    """The file's samples whose participants consent to the grant's use now (sorted)."""
    key = f"access:drs-kept:{grant.pk}:{data.pk}:{head}"
    kept = cache.get(key)
    if kept is None:
        samples = list(data.samples or [])
        kept = sorted(
            consenting_samples(grant.request, grant.dataset)
            .filter(sample_id__in=samples)
            .values_list("sample_id", flat=True)
        )
        cache.set(key, kept, timeout=KEPT_CACHE_SECONDS)
    return kept


@dataclass(frozen=True)
class _Served:
    """What a grant gives of a file now: as is (sample_hash None) or a filtered copy."""

    grant: Grant
    sample_hash: str | None


def _served(caller: Caller, datafile: DataFile, grants: list[Grant], head: str) -> _Served:
    """The first of the caller's grants under which the file is delivered, and how.

    A multi-sample VCF/BCF with some participants not consenting is a filtered copy; a
    single-sample file (or any other format) is delivered whole or not at all, as the
    delivery service does.
    """
    dataset = datafile.dataset
    if not grants:
        if dataset.status != DatasetStatus.RELEASED and not permissions.is_steward(caller.user):
            raise NotFoundError(f"There is no DRS object {source_id(datafile)}.")
        if caller.datasets is not None:
            raise PermissionError_(
                f"None of the passport's visas grants access to {dataset.accession}, so "
                "its files are not yours to fetch."
            )
        raise PermissionError_(
            f"You have no active grant on {dataset.accession}, so its files are not yours to "
            "fetch. Apply for access to the dataset in the portal."
        )
    data = datafile.index_of or datafile
    samples = list(data.samples or [])
    if not samples:
        raise PermissionError_(
            f"{data.name} names no sample, so whose consent covers it cannot be checked; "
            "it is not delivered."
        )
    for grant in grants:
        kept = _kept(grant, data, head)
        if len(kept) == len(set(samples)):
            return _Served(grant, None)
        if kept and len(samples) > 1 and data.format in MULTI_SAMPLE_FORMATS:
            return _Served(grant, genomics.samples_hash(kept)[:HASH_DIGITS])
    if len(samples) == 1:
        raise PermissionError_(
            f"The participant whose sample {data.name} holds does not consent to your use of "
            "their data now, so this file is not delivered to you."
        )
    raise PermissionError_(
        f"Not every participant whose samples {data.name} holds consents to your use now, "
        "and this kind of file is delivered whole or not at all."
        if data.format not in MULTI_SAMPLE_FORMATS
        else f"None of the participants whose samples {data.name} holds consents to your use "
        "now, so nothing of it is delivered to you."
    )


def source_id(datafile: DataFile) -> ObjectId:
    return ObjectId(datafile.dataset.accession or "", datafile.pk)


def _derivative_prefix(datafile: DataFile, sample_hash: str) -> str:
    """The start of a filtered copy's path (and of its index's): named by the data file's
    SHA-256 and the sample-set hash (access.services.deliveries._copy_target)."""
    data = datafile.index_of or datafile
    return f"{DERIVATIVES}/{data.sha256}.{sample_hash}"


def _served_files(datafile: DataFile, sample_hash: str | None) -> Q:
    if sample_hash is None:
        return Q(delivery_file__served_path=datafile.path)
    return Q(delivery_file__served_path__startswith=_derivative_prefix(datafile, sample_hash))


def _usable_link(
    caller: Caller, grant: Grant, datafile: DataFile, sample_hash: str | None
) -> SignedLink | None:
    """The newest link of the caller's ready deliveries under the grant serving this file
    (as is, or the copy for this sample set) that still works for a while."""
    now = timezone.now()
    links = (
        SignedLink.objects.filter(
            _served_files(datafile, sample_hash),
            delivery_file__datafile=datafile,
            delivery_file__delivery__grant=grant,
            delivery_file__delivery__requested_by=caller.user,
            delivery_file__delivery__status=DeliveryStatus.READY,
            revoked_at__isnull=True,
            expires_at__gt=now + _link_left(),
        )
        .select_related("delivery_file__delivery__grant__request", "delivery_file__delivery")
        .order_by("-expires_at", "-pk")[:5]
    )
    for link in links:
        if delivery_consent_holds(link.delivery_file.delivery):
            return link
    return None


def _newest_covering(deliveries: QuerySet[Delivery], data: DataFile) -> Delivery | None:
    """The newest of the caller's deliveries that covers `data` (an empty list is every file).
    Filtered here, not with a JSON `contains` lookup, which SQLite (the embedded default) lacks;
    a caller has only a few deliveries of one grant in these states."""
    for delivery in deliveries.order_by("-pk"):
        if not delivery.datafile_ids or data.pk in delivery.datafile_ids:
            return delivery
    return None


def _preparing(caller: Caller, grant: Grant, data: DataFile) -> Delivery | None:
    return _newest_covering(
        Delivery.objects.filter(
            grant=grant, requested_by=caller.user, status=DeliveryStatus.PREPARING
        ),
        data,
    )


def _pending(caller: Caller, grant: Grant, datafile: DataFile) -> Preparing | NeedsDelivery:
    data = datafile.index_of or datafile
    delivery = _preparing(caller, grant, data)
    if delivery is not None:
        return Preparing(delivery.pk)
    failed = _newest_covering(
        Delivery.objects.filter(
            grant=grant,
            requested_by=caller.user,
            created_at__gte=timezone.now() - dt.timedelta(seconds=60),
        ),
        data,
    )
    if failed is not None and failed.status == DeliveryStatus.FAILED:
        # Asking again at once would fail the same way: say why, and when to retry.
        raise DrsError(
            f"Preparing this file failed a moment ago: {failed.error} Ask again in a minute.",
            http_status=409,
        )
    if not caller.may_download:
        raise PermissionError_(
            "This API token may only read: preparing and fetching files needs a token with "
            "the download scope."
        )
    return NeedsDelivery(grant, [data.pk])


def _blob_of_file(object_id: ObjectId, datafile: DataFile) -> Blob:
    return Blob(
        id=object_id,
        name=datafile.name,
        size=datafile.size or 0,
        sha256=datafile.sha256,
        md5=datafile.md5,
        created=datafile.validated_at or datafile.registered_at,
        mime_type=_MIME_TYPES.get(datafile.format, "application/octet-stream"),
    )


def _blob_of_copy(object_id: ObjectId, datafile: DataFile, served: DeliveryFile) -> Blob:
    return Blob(
        id=object_id,
        name=served.name,
        size=served.size,
        sha256=served.sha256,
        md5=served.md5,
        created=served.delivery.ready_at or served.delivery.created_at,
        mime_type=_MIME_TYPES.get(datafile.format, "application/octet-stream"),
    )


def _copy_on_record(datafile: DataFile, sample_hash: str) -> DeliveryFile | None:
    """Any delivery's record of a filtered copy (its size and checksums): the file is the
    same whoever it was made for."""
    return (
        DeliveryFile.objects.filter(
            datafile=datafile, served_path__startswith=_derivative_prefix(datafile, sample_hash)
        )
        .select_related("delivery")
        .order_by("-pk")
        .first()
    )


def _wrong_copy(object_id: ObjectId, source: ObjectId) -> NotFoundError:
    return NotFoundError(
        f"There is no DRS object {object_id} for you: a consent-filtered copy is named by its "
        f"sample set, and what you may receive of this file now is {source}'s current copy. "
        f"Ask for {source}."
    )


def _link_left() -> dt.timedelta:
    return dt.timedelta(
        seconds=min(MIN_LINK_LEFT_SECONDS, settings.CUSTODIAN_LINK_MAX_SECONDS // 4)
    )


# ("object" or "access", caller, object id[, base URL]) -> (the ledger's head then, the
# answer, until when it holds). Everything that can change an answer (a delivery's or the
# grant's revocation, consent, a file's or dataset's status) is audited in the transaction
# that makes it, which moves the head, so an answer under an old head is never given again;
# what time alone ends (the link's expiry, the grant's last day) is the `until` checked at
# each use. Per process, bounded only to keep memory flat.
_answers: dict[tuple[Any, ...], tuple[str, Any, dt.datetime]] = {}
_ANSWERS_MAX = 10_000


def _remember(key: tuple[Any, ...], head: str, answer: Any, until: dt.datetime) -> None:
    if len(_answers) >= _ANSWERS_MAX:
        _answers.clear()
    _answers[key] = (head, answer, until)


def _object(
    caller: Caller, object_id: ObjectId, head: str
) -> tuple[Blob | Preparing | NeedsDelivery, dt.datetime | None]:
    """drs_object's answer, and until when it may be given again while the ledger's head is
    `head` (None: not again)."""
    datafile = _file_of(object_id)
    source = source_id(datafile)
    grants = _grants(caller, datafile)
    if not grants and permissions.is_steward(caller.user):
        if object_id.sample_hash is None:
            return _blob_of_file(object_id, datafile), None
        copy = _copy_on_record(datafile, object_id.sample_hash)
        if copy is None:
            raise NotFoundError(f"There is no DRS object {object_id}.")
        return _blob_of_copy(object_id, datafile, copy), None
    served = _served(caller, datafile, grants, head)
    if served.sample_hash is None:
        if object_id.sample_hash is not None:
            raise _wrong_copy(object_id, source)
        # Until the grant ends (by date: nothing is audited then).
        return _blob_of_file(object_id, datafile), grant_end_at(served.grant)
    if object_id.sample_hash not in (None, served.sample_hash):
        raise _wrong_copy(object_id, source)
    link = _usable_link(caller, served.grant, datafile, served.sample_hash)
    if link is None:
        return _pending(caller, served.grant, datafile), None
    copy_id = ObjectId(object_id.accession, object_id.datafile_id, served.sample_hash)
    return _blob_of_copy(copy_id, datafile, link.delivery_file), link.expires_at


def drs_object(caller: Caller, object_id: ObjectId) -> Blob | Preparing | NeedsDelivery:
    """The DrsObject the caller may fetch under this id.

    Stewards see registered files (and copies on record) whatever the grants. A grant holder
    asking for a file delivered as is gets it; for one that must be filtered, the copy's own
    object once a delivery of theirs holds it, else a delivery in preparation (202). A
    grant holder's answer is given again after one query while nothing was audited since
    (see `_answers`).
    """
    head = caller.state_version or state_version()
    key = ("object", caller.user.pk, caller.datasets, str(object_id))
    known = _answers.get(key)
    if known is not None and known[0] == head and timezone.now() + _link_left() < known[2]:
        return known[1]
    answer, until = _object(caller, object_id, head)
    if until is not None:
        _remember(key, head, answer, until)
    return answer


def _url_of(link: SignedLink, base_url: str) -> str:
    file = link.delivery_file
    if storage.uses_object_storage():
        return storage.link_url(
            file.served_path, name=file.name, expires_at=link.expires_at, now=timezone.now()
        )
    url = link_url(link)
    # Absolute already when downloads have a server of their own (CUSTODIAN_DOWNLOAD_URL).
    return url if urlsplit(url).scheme else base_url + url


def drs_access(
    caller: Caller, object_id: ObjectId, access_id: str, *, base_url: str
) -> AccessUrl | Preparing | NeedsDelivery:
    """The URL of the caller's prepared delivery of the object (the signed link the web page
    shows), or the delivery still to prepare. `base_url`: the portal's scheme and host.

    Clients ask for the same URL again and again (htslib per open): while nothing was
    audited since, the answer given last time is given again after one query.
    """
    if access_id != ACCESS_ID:
        raise NotFoundError(
            f"There is no access method {access_id!r} for {object_id}: its one is {ACCESS_ID!r}."
        )
    if not caller.may_download:
        raise PermissionError_(
            "This API token may only read: fetching files needs a token with the download scope."
        )
    head = caller.state_version or state_version()
    key = ("access", caller.user.pk, caller.datasets, str(object_id), base_url)
    known = _answers.get(key)
    if known is not None and known[0] == head and timezone.now() + _link_left() < known[2]:
        return known[1]  # type: ignore[no-any-return]
    datafile = _file_of(object_id)
    grants = _grants(caller, datafile)
    if not grants and permissions.is_steward(caller.user):
        raise PermissionError_(
            "Data stewards see the catalogue's files but download them only under a grant of "
            "their own, like anyone else."
        )
    served = _served(caller, datafile, grants, head)
    if object_id.sample_hash != served.sample_hash and object_id.sample_hash is not None:
        raise _wrong_copy(object_id, source_id(datafile))
    link = _usable_link(caller, served.grant, datafile, served.sample_hash)
    if link is None:
        return _pending(caller, served.grant, datafile)
    answer = AccessUrl(_url_of(link, base_url), link.expires_at)
    _remember(key, head, answer, link.expires_at)
    return answer


# --- passports in POST bodies --------------------------------------------------------------


def _visas_in(passports: list[str]) -> list[str]:
    """The visas sent: each item is a visa, or a passport JWT whose `ga4gh_passport_v1`
    lists visas. A passport's own signature is not what grants anything here (this portal
    runs no broker): every visa in it must verify on its own."""
    visas: list[str] = []
    for item in passports:
        try:
            payload = jwt.decode(item, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            payload = {}
        embedded = payload.get("ga4gh_passport_v1") if isinstance(payload, dict) else None
        if isinstance(embedded, list) and "ga4gh_visa_v1" not in payload:
            if not all(isinstance(visa, str) for visa in embedded):
                raise DrsError("A passport's ga4gh_passport_v1 must list visas (JWT strings).")
            visas.extend(embedded)
        else:
            visas.append(item)
    if not visas:
        raise DrsError("The passports sent hold no visa.")
    return visas


def passport_caller(passports: list[str], *, user: User | None, auth: object) -> Caller:
    """Who a request with passports is.

    Every visa must be one this portal issued (`visa_verify`: our keys only, never a `jku`
    fetched) and still valid. With a token or session as well, the visas must be that
    user's and add nothing: their grants decide. With passports alone, the user is the
    visas' subject and only datasets their ControlledAccessGrants visas name are reachable
    (and the grants behind them must still be active when the file is fetched).
    """
    claims = [visa_verify(visa) for visa in _visas_in(passports)]
    subjects = {str(claim["sub"]) for claim in claims}
    if user is not None and user.is_authenticated:
        if subjects != {visa_subject(user.pk)}:
            raise PermissionError_(
                "A visa sent belongs to another person: send only your own passport with "
                "your own credentials."
            )
        return credential_caller(user, auth)
    if len(subjects) != 1:
        raise PermissionError_("The visas sent belong to different people: send one passport.")
    subject = subjects.pop()
    holder = (
        User.objects.filter(pk=int(subject), is_active=True).first() if subject.isdigit() else None
    )
    if holder is None:
        raise PermissionError_("The visas' holder has no active account here.")
    named = {
        claim["ga4gh_visa_v1"].get("value")
        for claim in claims
        if claim["ga4gh_visa_v1"].get("type") == "ControlledAccessGrants"
    }
    today = timezone.localdate()
    grants = Grant.objects.filter(
        grantee=holder, revoked_at__isnull=True, starts_on__lte=today, ends_on__gte=today
    ).select_related("dataset")
    datasets = frozenset(g.dataset_id for g in grants if dataset_url(g.dataset) in named)
    return Caller(holder, may_download=True, datasets=datasets)
