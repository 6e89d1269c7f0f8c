"""Reads on deliveries: the researcher's delivery page, committees' lists, and the download
check every signed link passes on every request (htslib makes many small ones)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from access import permissions, storage
from access.models import (
    AccessRequest,
    Delivery,
    DeliveryParticipant,
    DeliveryStatus,
    SignedLink,
)
from access.permissions import DeliveryRights
from access.selectors.consented import consenting_samples
from datasets.paths import resolve_data_path
from portal.audit import state_version, state_version_sql
from portal.exceptions import NotFoundError, PermissionError_, PortalError
from portal.models import AuditEvent, User

LINK_SALT = "access.download"
# A stale entry cannot be read (its key holds the ledger head); this only bounds memory.
CONSENT_CACHE_SECONDS = 3600


class LinkGone(PortalError):
    """The link was valid but no longer is (expired, revoked, consent changed): 410."""

    code = "gone"
    http_status = 410


def delivery_for(user: User, delivery_id: int) -> Delivery:
    """The user's own delivery; anyone else's is the same 404 as a missing one."""
    delivery = (
        Delivery.objects.select_related("grant__dataset", "grant__request", "requested_by")
        .filter(pk=delivery_id, requested_by_id=getattr(user, "pk", None))
        .first()
    )
    if delivery is None:
        raise NotFoundError("No such delivery.")
    return delivery


def deliveries_of_request(request: AccessRequest) -> list[Delivery]:
    """Every delivery under the request's grants, newest first, for committees and stewards."""
    return list(
        Delivery.objects.filter(grant__request=request).select_related(
            "grant__dataset", "requested_by"
        )
    )


def my_deliveries(user: User, request: AccessRequest) -> list[Delivery]:
    return list(
        Delivery.objects.filter(grant__request=request, requested_by=user).select_related(
            "grant__dataset"
        )
    )


@dataclass(frozen=True)
class IssuedLink:
    name: str
    size: int
    sha256: str
    url: str
    expires_at: dt.datetime
    index_url: str = ""
    index_name: str = ""
    is_vcf: bool = False


def links_of(delivery: Delivery, *, now: dt.datetime | None = None) -> list[IssuedLink]:
    """The data files' links, each with its index's link (one query).

    With object storage a link's url is a presigned URL made now, valid until the link's
    expiry, and only while the link would pass the download's checks; otherwise it is empty.
    A presigned URL once shown cannot be taken back, so none is made for a link that is
    expired or revoked, under a grant no longer active, or after consent changed.
    """
    url_of = (
        _presigned_url_maker(delivery, now or timezone.now())
        if storage.uses_object_storage()
        else link_url
    )
    links = list(
        SignedLink.objects.filter(delivery_file__delivery=delivery)
        .select_related("delivery_file__index_of")
        .order_by("delivery_file__name")
    )
    index_of = {
        link.delivery_file.index_of_id: link for link in links if link.delivery_file.is_index
    }
    issued = []
    for link in links:
        file = link.delivery_file
        if file.is_index:
            continue
        index = index_of.get(file.pk)
        issued.append(
            IssuedLink(
                name=file.name,
                size=file.size,
                sha256=file.sha256,
                url=url_of(link),
                expires_at=link.expires_at,
                index_url=url_of(index) if index else "",
                index_name=index.delivery_file.name if index else "",
                is_vcf=file.name.endswith((".vcf.gz", ".bcf")),
            )
        )
    return issued


def _presigned_url_maker(delivery: Delivery, now: dt.datetime) -> Callable[[SignedLink], str]:
    usable = delivery.grant.is_active and delivery_consent_holds(delivery)

    def presigned_url(link: SignedLink) -> str:
        if not usable or link.revoked_at is not None or now >= link.expires_at:
            return ""
        file = link.delivery_file
        return storage.link_url(
            file.served_path, name=file.name, expires_at=link.expires_at, now=now
        )

    return presigned_url


def link_signer() -> signing.Signer:
    """Signs with SECRET_KEY and verifies with it or any of SECRET_KEY_FALLBACKS (rotation).

    No timestamp in the token: the expiry is in the signed value, so a link's URL is the
    same every time it is shown.
    """
    return signing.Signer(salt=LINK_SALT)


def link_token(link: SignedLink) -> str:
    return link_signer().sign_object({"l": link.pk, "e": int(link.expires_at.timestamp())})


def link_url(link: SignedLink) -> str:
    """The link's path on the portal, or its absolute URL on the download pool when
    CUSTODIAN_DOWNLOAD_URL is set (pages and the API show absolute URLs as they are)."""
    path = reverse("access:download", args=[link_token(link), link.delivery_file.name])
    return f"{settings.CUSTODIAN_DOWNLOAD_URL}{path}"


def _still_consenting(delivery: Delivery) -> bool:
    """True when every participant the delivery included is still in the consented set."""
    grant = delivery.grant
    consenting = consenting_samples(grant.request, grant.dataset).values("participant_id")
    return (
        not DeliveryParticipant.objects.filter(delivery=delivery)
        .exclude(participant_id__in=consenting)
        .exists()
    )


def delivery_consent_holds(delivery: Delivery) -> bool:
    """Cheap while nothing changed since issuance: every consent change is audited and moves
    `state_version`; when it moved, one query, cached under (delivery, version)."""
    head = state_version()
    if head == delivery.consent_stamp:
        return True
    key = f"access:delivery-consent:{delivery.pk}:{head}"
    holds = cache.get(key)
    if holds is None:
        holds = _still_consenting(delivery)
        cache.set(key, holds, timeout=CONSENT_CACHE_SECONDS)
    return holds


@dataclass(frozen=True)
class Servable:
    path: Path
    name: str
    size: int
    sha256: str
    relative: str = ""  # from the data root, for X-Accel-Redirect
    link_id: int = 0


class _LinkState(NamedTuple):
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    name: str
    served_path: str
    size: int
    sha256: str
    delivery_id: int
    consent_stamp: str
    grant_revoked_at: dt.datetime | None
    grant_starts_on: dt.date
    grant_ends_on: dt.date
    head: str | None

    def grant_active(self, today: dt.date) -> bool:
        """Grant.is_active_on, from the columns read."""
        return self.grant_revoked_at is None and self.grant_starts_on <= today <= self.grant_ends_on


def _link_state_query(link_id: int) -> QuerySet[SignedLink, tuple[Any, ...]]:
    return (
        SignedLink.objects.filter(pk=link_id)
        .annotate(head=RawSQL(state_version_sql(), ()))  # noqa: S611 - no input
        .values_list(
            "expires_at",
            "revoked_at",
            "delivery_file__name",
            "delivery_file__served_path",
            "delivery_file__size",
            "delivery_file__sha256",
            "delivery_file__delivery_id",
            "delivery_file__delivery__consent_stamp",
            "delivery_file__delivery__grant__revoked_at",
            "delivery_file__delivery__grant__starts_on",
            "delivery_file__delivery__grant__ends_on",
            "head",
        )
    )


class _Compiled(threading.local):
    """Per thread (each has its own connection): the compiled SQL of a query and the
    compiler whose converters turn its rows into Python values as the ORM would."""

    queries: dict[str, tuple[Any, str, bool]]

    def __init__(self) -> None:
        self.queries = {}

    def row(self, name: str, queryset: Callable[[int], QuerySet[Any, Any]], key: int) -> Any:
        compiled = self.queries.get(f"{connection.vendor}:{name}")
        if compiled is None:
            compiler = queryset(0).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            if list(params) not in ([], [0]):  # the key must be the only parameter, if any
                raise RuntimeError(f"unexpected parameters {params!r} in {name}")
            compiled = self.queries[f"{connection.vendor}:{name}"] = (compiler, sql, bool(params))
        compiler, sql, keyed = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [key] if keyed else [])
            row = cursor.fetchone()
        if row is None:
            return None
        return next(iter(compiler.results_iter(results=[[row]], tuple_expected=True)))


_compiled = _Compiled()
# (link id, ledger head) -> the link's state read when the ledger's head was that. Every
# change that matters to a link (its revocation, the grant's revocation or renewal, consent)
# is audited in the transaction that makes it, which moves the head: an entry under an old
# head is never read again. Bounded only to keep memory flat.
_states: dict[tuple[int, str], _LinkState] = {}
_STATES_MAX = 10_000


def _link_state(link_id: int) -> _LinkState | None:
    """Everything a request on a link checks, in one small query while nothing was audited
    since the same link was last read in this process (the ledger's head), else one more.

    htslib makes hundreds of small Range requests, and building and compiling an ORM query
    costs several times running it, so each thread compiles these once and runs the SQL.
    """
    state = _states.get((link_id, state_version()))
    if state is not None:
        return state
    row = _compiled.row("link", _link_state_query, link_id)
    if row is None:
        return None
    state = _LinkState(*row)
    if len(_states) >= _STATES_MAX:
        _states.clear()
    _states[(link_id, str(state.head))] = state
    return state


def _consent_holds(state: _LinkState) -> bool:
    """delivery_consent_holds with the head already read: no query while the head is the
    delivery's stamp, then one per (delivery, head), cached."""
    head = str(state.head)
    if head == state.consent_stamp:
        return True
    key = f"access:delivery-consent:{state.delivery_id}:{head}"
    holds = cache.get(key)
    if holds is None:
        delivery = Delivery.objects.select_related("grant__request", "grant__dataset").get(
            pk=state.delivery_id
        )
        holds = _still_consenting(delivery)
        cache.set(key, holds, timeout=CONSENT_CACHE_SECONDS)
    return holds


def link_for_download(token: str, filename: str, *, now: dt.datetime | None = None) -> Servable:
    """The file a signed link serves, after every check; a PortalError (403/404/410) if not.

    The path comes from the database only: the filename in the URL is cosmetic and must
    match the file's name.
    """
    try:
        payload = link_signer().unsign_object(token)
        link_id, expiry = int(payload["l"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise PermissionError_("This download link is not valid.") from exc
    link = _link_state(link_id)
    if link is None or int(link.expires_at.timestamp()) != expiry:
        raise NotFoundError("No such download link.")
    if filename != link.name:
        raise NotFoundError("No such download link.")
    now = now or timezone.now()
    if now >= link.expires_at:
        raise LinkGone(
            f"This link expired at {timezone.localtime(link.expires_at):%d %B %Y %H:%M}. "
            "Ask for a fresh delivery on the delivery page."
        )
    if link.revoked_at is not None:
        raise LinkGone("This link was revoked. Ask for a fresh delivery on the delivery page.")
    if not link.grant_active(timezone.localdate()):
        raise LinkGone(
            "Access under this grant was revoked or has ended, so its links no longer work."
        )
    if not _consent_holds(link):
        raise LinkGone(
            "Someone whose data this delivery included has since withdrawn or narrowed their "
            "consent, so its links no longer work. You can ask for a fresh delivery, which "
            "holds only the data of participants who consent now."
        )
    resolved = resolve_data_path(link.served_path)
    path = resolved.absolute
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = -1
    # One stat per request: a file replaced or removed since issuance is never served.
    if size != link.size:
        raise LinkGone(
            f"{link.name} has changed or been removed since this link was issued. Ask for a "
            "fresh delivery on the delivery page."
        )
    return Servable(
        path=path,
        name=link.name,
        size=link.size,
        sha256=link.sha256,
        relative=resolved.relative,
        link_id=link_id,
    )


def link_still_valid(link_id: int) -> bool:
    """Whether a download already under way may go on: the link is not revoked, its grant is
    active and consent still holds. The streaming download asks every half second; one
    query while nothing was audited since the delivery was made. The expiry is not checked
    again: a download started in time may finish."""
    link = _link_state(link_id)
    return (
        link is not None
        and link.revoked_at is None
        and link.grant_active(timezone.localdate())
        and _consent_holds(link)
    )


# --- the record committees, stewards and the requester read -------------------------------------

# Written by access.services.deliveries.delivery_revoke (the services import the selectors).
REVOKE_ACTION = "delivery.revoke"


@dataclass(frozen=True)
class LinkRecord:
    """One issued link as its record shows it: never the signed URL, which is a credential."""

    name: str
    size: int
    sha256: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    is_index: bool


@dataclass(frozen=True)
class Revocation:
    at: dt.datetime
    by: str
    reason: str


@dataclass(frozen=True)
class DeliveryRecord:
    delivery: Delivery
    participants: int
    links: list[LinkRecord]
    revocation: Revocation | None

    @property
    def revoked(self) -> bool:
        return self.revocation is not None

    @property
    def revocable(self) -> bool:
        """Links to stop: ready, and at least one of them not revoked yet."""
        return self.delivery.status == DeliveryStatus.READY and any(
            link.revoked_at is None for link in self.links
        )


def delivery_visible(user: User, delivery_id: int) -> tuple[Delivery, DeliveryRights]:
    """A delivery its requester, the reviewing committees or a steward may see, with what the
    user may do with it; anyone else gets the same 404 as a missing delivery."""
    delivery = (
        Delivery.objects.select_related("grant__dataset", "grant__request", "requested_by")
        .filter(pk=delivery_id)
        .first()
    )
    rights = permissions.delivery_rights(user, delivery) if delivery is not None else None
    if delivery is None or rights is None or not rights.view:
        raise NotFoundError("No such delivery.")
    return delivery, rights


def delivery_records(deliveries: list[Delivery]) -> list[DeliveryRecord]:
    """Each delivery with its participant count, its links and its revocation: three queries
    whatever the number of deliveries (the deliveries come loaded)."""
    ids = [d.pk for d in deliveries]
    counts = dict(
        DeliveryParticipant.objects.filter(delivery_id__in=ids)
        .values("delivery_id")
        .annotate(n=Count("pk"))
        .values_list("delivery_id", "n")
    )
    links: dict[int, list[LinkRecord]] = {pk: [] for pk in ids}
    rows = (
        SignedLink.objects.filter(delivery_file__delivery_id__in=ids)
        .select_related("delivery_file")
        .order_by("delivery_file__name", "pk")
    )
    for link in rows:
        file = link.delivery_file
        links[file.delivery_id].append(
            LinkRecord(
                name=file.name,
                size=file.size,
                sha256=file.sha256,
                expires_at=link.expires_at,
                revoked_at=link.revoked_at,
                is_index=file.is_index,
            )
        )
    revocations: dict[int, Revocation] = {}
    events = AuditEvent.objects.filter(
        action=REVOKE_ACTION,
        object_type=Delivery._meta.label_lower,
        object_id__in=[str(pk) for pk in ids],
    ).select_related("actor")
    for event in events:
        by = (event.actor.full_name or event.actor.email) if event.actor else event.actor_label
        revocations[int(event.object_id)] = Revocation(
            at=event.occurred_at, by=by, reason=str(event.after.get("reason", ""))
        )
    return [
        DeliveryRecord(
            delivery=d,
            participants=counts.get(d.pk, 0),
            links=links[d.pk],
            revocation=revocations.get(d.pk),
        )
        for d in deliveries
    ]


def delivery_records_of_request(request: AccessRequest) -> list[DeliveryRecord]:
    """Every delivery under the request's grants, newest first: committees and stewards."""
    return delivery_records(deliveries_of_request(request))


def delivery_records_visible(user: User, request: AccessRequest) -> list[DeliveryRecord]:
    """The request's deliveries this person may audit: all of them for its reviewing
    committees and stewards, their own for anyone else who sees the request."""
    deliveries = Delivery.objects.filter(grant__request=request).select_related(
        "grant__dataset", "grant__request", "requested_by"
    )
    if not permissions.request_rights(user, request).oversees_deliveries:
        deliveries = deliveries.filter(requested_by_id=user.pk)
    return delivery_records(list(deliveries))
