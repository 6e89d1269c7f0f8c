"""Signed checkpoints pushed to witnesses, so that a copy lives outside the operator's control.

A witness is an HTTPS endpoint or an email address (settings.CUSTODIAN_LEDGER_WITNESSES).
An HTTPS witness may be followed, after a space, by its verifier key (c2sp.org/tlog-cosignature,
`<name>+<hash>+<base64(0x04 || public key)>`): its answer must then carry a valid cosignature
of the checkpoint by that key, which is kept with the push and served under the checkpoint
at /ledger/checkpoint/cosigned; an answer without one fails the push.

- HTTPS: the add-checkpoint request of c2sp.org/tlog-witness: a body of `old <size>`, the
  consistency proof from that size (one base64 hash a line), a blank line, then the signed
  checkpoint. `old` is the size this witness last accepted; a witness that holds another
  size answers 409 with it (text/x.tlog.size), and the push is made again from that size.
  A witness whose tree is *larger* than the log's is never argued with: the log shrank, so
  it is an error for people to look at. Plain http:// is accepted for this machine only.
- Email: the checkpoint in the body, at most every CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS.

The seal task calls `witness_pushes_queue` after every seal (every 2 s): for each witness
with nothing in flight and an older checkpoint than the latest, one push row is made and its
task queued. The task retries transient failures (network, 5xx) with backoff; the row then
says DELIVERED or FAILED with the last error, which stewards see at /ledger/witnesses/ and
the log records.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from portal import merkle
from portal.models import LedgerCheckpoint, LedgerWitnessPush, WitnessPushStatus
from portal.proofs import consistency_path
from portal.signed_note import NoteError, Verifier, cosignature_find, cosigner_from_key

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 10
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class WitnessError(Exception):
    """A push the witness refused or that cannot be made: retrying will not help."""


class WitnessUnreachableError(Exception):
    """A push that failed on the way (network, time-out, 5xx): worth retrying later."""


@dataclass(frozen=True)
class Witness:
    target: str
    kind: str  # "https" or "email"
    cosigner: Verifier | None = None


def witness_parse(entry: str) -> Witness:
    """One entry of CUSTODIAN_LEDGER_WITNESSES: an address, or an HTTPS URL and its key."""
    parts = entry.split()
    if len(parts) != 2 or "+" not in parts[1]:
        return _target_parse(entry.strip())
    target, key = parts
    witness = _target_parse(target)
    if witness.kind != "https":
        raise WitnessError(f"{target}: only an HTTPS witness answers with a cosignature")
    try:
        return Witness(witness.target, witness.kind, cosigner_from_key(key))
    except NoteError as exc:
        raise WitnessError(f"{target}: the witness key is not usable: {exc}") from None


def _target_parse(target: str) -> Witness:
    if target.startswith("mailto:"):
        target = target[len("mailto:") :]
    parts = urlsplit(target)
    if parts.scheme == "https" and parts.hostname:
        return Witness(target, "https")
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return Witness(target, "https")
    if parts.scheme in {"http", "https"}:
        raise WitnessError(f"{target} is not an HTTPS URL (plain HTTP only to this machine)")
    try:
        validate_email(target)
    except ValidationError:
        raise WitnessError(f"{target!r} is neither an HTTPS URL nor an email address") from None
    return Witness(target, "email")


def witnesses_configured() -> list[Witness]:
    witnesses = []
    for target in getattr(settings, "CUSTODIAN_LEDGER_WITNESSES", []):
        try:
            witnesses.append(witness_parse(target))
        except WitnessError as exc:
            logger.error("ledger witness not used: %s", exc)
    return witnesses


def _due(last: LedgerWitnessPush | None, latest: LedgerCheckpoint, witness: Witness) -> bool:
    if last is None:
        return True
    now = timezone.now()
    if last.status == WitnessPushStatus.PENDING:
        return False
    if last.status == WitnessPushStatus.FAILED:
        wait = getattr(settings, "CUSTODIAN_LEDGER_WITNESS_RETRY_SECONDS", 300)
        return now - last.updated_at >= timedelta(seconds=wait)
    if last.checkpoint.tree_size >= latest.tree_size:
        return False
    if witness.kind == "email":
        every = getattr(settings, "CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS", 3600)
        return now - last.updated_at >= timedelta(seconds=every)
    return True


def witness_pushes_queue() -> list[LedgerWitnessPush]:
    """Make a push of the latest checkpoint for each witness that is due one; queue each."""
    from portal.tasks import push_checkpoint_task

    witnesses = witnesses_configured()
    if not witnesses:
        return []
    latest = LedgerCheckpoint.objects.order_by("-tree_size").first()
    if latest is None or latest.tree_size == 0:
        return []
    queued = []
    with transaction.atomic():
        for witness in witnesses:
            last = (
                LedgerWitnessPush.objects.select_for_update(of=("self",))
                .select_related("checkpoint")
                .filter(witness=witness.target)
                .order_by("-checkpoint__tree_size")
                .first()
            )
            if not _due(last, latest, witness):
                continue
            if last is not None and last.checkpoint_id == latest.pk:
                # A failed push of the same checkpoint is tried again (one row per pair).
                last.status = WitnessPushStatus.PENDING
                last.updated_at = timezone.now()
                last.save(update_fields=["status", "updated_at"])
                push = last
            else:
                push, _ = LedgerWitnessPush.objects.get_or_create(
                    checkpoint=latest, witness=witness.target
                )
            queued.append(push)
            transaction.on_commit(partial(push_checkpoint_task.delay, push.pk))
    return queued


def _accepted_size(push: LedgerWitnessPush) -> int:
    size = (
        LedgerWitnessPush.objects.filter(
            witness=push.witness,
            status=WitnessPushStatus.DELIVERED,
            checkpoint__tree_size__lte=push.checkpoint.tree_size,
        )
        .order_by("-checkpoint__tree_size")
        .values_list("checkpoint__tree_size", flat=True)
        .first()
    )
    return size or 0


def add_checkpoint_body(old: int, checkpoint: LedgerCheckpoint) -> bytes:
    proof = consistency_path(old, checkpoint.tree_size) if old else []
    lines = [f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]
    return ("".join(lines) + checkpoint.note).encode("utf-8")


def _post(url: str, body: bytes) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by witness_parse
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return response.status, response.headers.get_content_type(), response.read(4096)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read(4096)
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessUnreachableError(f"{url} could not be reached: {exc}") from exc


def _push_https(push: LedgerWitnessPush) -> str:
    old = _accepted_size(push)
    for _ in range(2):
        status, content_type, raw = _post(push.witness, add_checkpoint_body(old, push.checkpoint))
        text = raw.decode("utf-8", "replace").strip()
        if 200 <= status < 300:
            return text
        if status == 409 and content_type == SIZE_CONTENT_TYPE and text.isdigit():
            held = int(text)
            if held > push.checkpoint.tree_size:
                raise WitnessError(
                    f"the witness holds a tree of {held} leaves, larger than this checkpoint's "
                    f"{push.checkpoint.tree_size}: the log may have been rolled back"
                )
            if held != old:
                old = held
                continue
        if status >= 500 or status == 429:
            raise WitnessUnreachableError(f"the witness answered {status}: {text[:200]}")
        raise WitnessError(f"the witness refused the checkpoint ({status}): {text[:200]}")
    raise WitnessError("the witness keeps asking for another tree size")


def _push_email(push: LedgerWitnessPush) -> str:
    body = (
        "This is a signed checkpoint of the Custodian audit ledger's transparency log "
        "(c2sp.org/tlog-checkpoint). Keep it: it lets anyone prove later that the log was "
        "not rewritten (manage.py verify_audit_ledger --checkpoint FILE).\n\n"
        f"{push.checkpoint.note}"
    )
    subject = f"Transparency log checkpoint: {push.checkpoint.tree_size} entries"
    try:
        send_mail(subject, body, None, [push.witness])
    except (smtplib.SMTPException, OSError) as exc:
        raise WitnessUnreachableError(f"the email could not be sent: {exc}") from exc
    return ""


def _configured(target: str) -> Witness:
    """The witness as configured now (with its key, if any), else as its target reads."""
    for witness in witnesses_configured():
        if witness.target == target:
            return witness
    return witness_parse(target)


def _cosignature(push: LedgerWitnessPush, witness: Witness, answer: str) -> str:
    """The witness's cosignature line, checked against its configured key; "" without one."""
    if witness.cosigner is None:
        return ""
    text = push.checkpoint.note.rpartition("\n\n")[0] + "\n"
    try:
        return cosignature_find(answer, text, witness.cosigner)
    except NoteError as exc:
        raise WitnessError(
            f"the witness took the checkpoint but answered without a valid cosignature: {exc}"
        ) from None


def cosigned_checkpoint() -> str | None:
    """The newest checkpoint that a witness with a configured key cosigned, with every
    cosignature it has under the log's own signature; None before the first."""
    newest = (
        LedgerWitnessPush.objects.filter(status=WitnessPushStatus.DELIVERED)
        .exclude(cosignature="")
        .select_related("checkpoint")
        .order_by("-checkpoint__tree_size")
        .first()
    )
    if newest is None:
        return None
    lines = (
        LedgerWitnessPush.objects.filter(
            checkpoint=newest.checkpoint, status=WitnessPushStatus.DELIVERED
        )
        .exclude(cosignature="")
        .order_by("witness")
        .values_list("cosignature", flat=True)
    )
    return newest.checkpoint.note + "".join(lines)


def witness_push(*, push_id: int, final: bool) -> None:
    """Send one push, once: a rerun finds it no longer PENDING and does nothing.

    Raises WitnessUnreachableError (after recording it) when a retry may help and this was
    not the final attempt.
    """
    with transaction.atomic(durable=True):
        push = (
            LedgerWitnessPush.objects.select_for_update(of=("self",))
            .select_related("checkpoint")
            .filter(pk=push_id, status=WitnessPushStatus.PENDING)
            .first()
        )
        if push is None:
            return
        push.attempts += 1
        push.updated_at = timezone.now()
        retry: WitnessUnreachableError | None = None
        try:
            witness = _configured(push.witness)
            if witness.kind == "https":
                answer = _push_https(push)
                push.cosignature = _cosignature(push, witness, answer)
            else:
                answer = _push_email(push)
        except (WitnessError, merkle.ProofError) as exc:
            push.status, push.last_error = WitnessPushStatus.FAILED, str(exc)
        except WitnessUnreachableError as exc:
            push.last_error = str(exc)
            if final:
                push.status = WitnessPushStatus.FAILED
            else:
                retry = exc
        else:
            push.status, push.last_error = WitnessPushStatus.DELIVERED, ""
            logger.info(
                "checkpoint %s pushed to witness %s: %s",
                push.checkpoint.tree_size,
                push.witness,
                answer[:500],
            )
        push.save()
    if push.status == WitnessPushStatus.FAILED:
        logger.error(
            "ledger witness %s did not take the checkpoint of tree size %s after %s attempt(s): %s",
            push.witness,
            push.checkpoint.tree_size,
            push.attempts,
            push.last_error,
        )
    if retry is not None:
        raise retry


@dataclass(frozen=True)
class WitnessState:
    target: str
    configured: bool
    last: LedgerWitnessPush | None
    delivered: LedgerWitnessPush | None


def witness_states() -> list[WitnessState]:
    """Each configured witness (and any that was once pushed to): its latest push, and the
    latest checkpoint it took, for the stewards' page."""
    configured = [w.target for w in witnesses_configured()]
    pushed = set(LedgerWitnessPush.objects.values_list("witness", flat=True).distinct())
    states = []
    for target in [*configured, *sorted(pushed - set(configured))]:
        pushes = LedgerWitnessPush.objects.filter(witness=target).select_related("checkpoint")
        states.append(
            WitnessState(
                target,
                target in configured,
                pushes.order_by("-checkpoint__tree_size").first(),
                pushes.filter(status=WitnessPushStatus.DELIVERED)
                .order_by("-checkpoint__tree_size")
                .first(),
            )
        )
    return states
