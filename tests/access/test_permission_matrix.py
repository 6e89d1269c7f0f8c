"""The permission matrix: every URL of the access pages and API × every persona.

The URL names come from the URL configuration (`namespaced_patterns`), and a test checks
they are exactly the keys of MATRIX: a new view without a row fails here.

Each row is one probe (method, the URL's arguments taken from the world, a body) and the
status each persona must get, written out, never derived from the code under test:

- pages: anonymous → 302 to the sign-in page; API: anonymous → 401;
- a request (or committee, grant, document) the persona may not see → 404, the same as a
  missing one; a page whose role the persona lacks → 403 (`role_required`);
- visible but not theirs to do → 403 (409 where the request's state refuses it first);
- allowed → 200 / 201, or 302 where the page redirects after a successful POST.

Independence: bodies are VALID, so an allowed persona really performs the action and the
matrix tells "allowed" from "refused" (an invalid body would give every visitor the same
400). Each probe runs inside a database savepoint that is rolled back afterwards
(`transaction.savepoint` does not open an atomic block, so the services' durable
transactions still run as they do in any test), hence every probe sees the same world.
The world is built once per persona test: parametrized by persona, looping over every row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access.models import (
    Delivery,
    DeliveryFile,
    DeliveryStatus,
    SignedLink,
    SigningOfficialConfirmation,
)
from consent.models import ConsentVersion
from datasets.models import Committee, DataFile, DataFileFormat
from portal.models import User
from tests.access.conftest import Cohort
from tests.access.matrix_support import (
    INSTITUTION,
    PERSONAS,
    RATIONALE,
    World,
    build_world,
    html_client,
    namespaced_patterns,
    pdf_upload,
    token_client,
)

SIGN_IN = "/account/sign-in/"
# Besides the status: nothing any of these persons opens shows a member's vote rationale.
NEVER_SEE_VOTES = {"researcher", "coapplicant"}

Kwargs = Callable[[World], dict[str, Any]]
Body = Callable[[World], Any]


@dataclass(frozen=True)
class Probe:
    method: str
    kwargs: Kwargs
    statuses: tuple[int, ...]  # one per persona, in PERSONAS' order
    body: Body | None = None
    query: str = ""


def _none(_: World) -> dict[str, Any]:
    return {}


def _in_review(w: World) -> dict[str, Any]:
    return {"accession": w.in_review.accession}


def _returned(w: World) -> dict[str, Any]:
    return {"accession": w.returned.accession}


def _approved(w: World) -> dict[str, Any]:
    return {"accession": w.approved.accession}


def _draft(w: World) -> dict[str, Any]:
    return {"accession": w.draft.accession}


def _document(w: World) -> dict[str, Any]:
    return {"accession": w.in_review.accession, "document_id": w.document.pk}


def _dac_review(w: World) -> dict[str, Any]:
    return {"accession": w.in_review.accession, "review_id": w.dac_review.pk}


def _coapplicant(w: World) -> dict[str, Any]:
    return {"accession": w.returned.accession, "invitation_id": w.coapplicant_on_returned.pk}


def _token(w: World) -> dict[str, Any]:
    return {"token": w.token}


def _dac(w: World) -> dict[str, Any]:
    return {"committee_id": w.dac.pk}


def _community(w: World) -> dict[str, Any]:
    return {"committee_id": w.community.pk}


def _revoke_page(w: World) -> dict[str, Any]:
    return {"accession": w.approved.accession, "committee_id": w.dac.pk}


def _grant(w: World) -> dict[str, Any]:
    return {"grant_id": w.grant.pk}


def _delivery(w: World) -> dict[str, Any]:
    delivery, _ = Delivery.objects.get_or_create(
        grant=w.grant, requested_by=w.grant.grantee, status=DeliveryStatus.PREPARING
    )
    return {"delivery_id": delivery.pk}


def _ready_delivery(w: World) -> dict[str, Any]:
    """A delivery with one issued link (made directly: issuing needs files on disk)."""
    grant = w.grant
    delivery, created = Delivery.objects.get_or_create(
        grant=grant, requested_by=grant.grantee, status=DeliveryStatus.READY
    )
    if created:
        datafile = DataFile.objects.create(
            dataset=grant.dataset,
            path="reads/N000.bam",
            format=DataFileFormat.BAM,
            registered_by=grant.grantee,
        )
        file = DeliveryFile.objects.create(
            delivery=delivery,
            datafile=datafile,
            served_path=datafile.path,
            name="N000.bam",
            size=1,
            sha256="0" * 64,
        )
        SignedLink.objects.create(
            delivery_file=file, expires_at=timezone.now() + dt.timedelta(hours=1)
        )
    return {"delivery_id": delivery.pk}


def _bad_link(_: World) -> dict[str, Any]:
    return {"token": "eyJsIjoxLCJlIjoxfQ:forged", "filename": "S000.bam"}


def _form(**fields: Any) -> Body:
    return lambda _w: fields


def _vote(w: World) -> dict[str, Any]:
    prefix = f"r{w.dac_review.pk}"
    return {f"{prefix}-choice": "approve", f"{prefix}-rationale": "Looks sound."}


def _decide(w: World) -> dict[str, Any]:
    return {f"r{w.dac_review.pk}-decision": "approved"}


def _revoke(w: World) -> dict[str, Any]:
    return {f"c{w.dac.pk}-reason": "Data kept on a laptop."}


def _new_committee(_: World) -> dict[str, Any]:
    return {"name": "New DAC", "kind": "dac", "contact_email": "new@example.org", "chairs": ""}


def _ethics_page(_: World) -> dict[str, Any]:
    return {"document": pdf_upload()}


def _ethics_api(_: World) -> dict[str, Any]:
    return {"file": pdf_upload()}


def _revoke_api(w: World) -> dict[str, Any]:
    return {"committee": w.dac.pk, "reason": "Data kept on a laptop."}


OFFICIAL_TOKEN = "matrix-signing-official-token"


def _official_token(w: World) -> dict[str, Any]:
    """A signing official's link, waiting for an answer (made directly: the token is random)."""
    SigningOfficialConfirmation.objects.get_or_create(
        token_sha256=hashlib.sha256(OFFICIAL_TOKEN.encode()).hexdigest(),
        defaults={
            "researcher": w.people["researcher"],
            "official_name": "Sigrid Official",
            "official_email": "official@riverside.example",
            "institution": INSTITUTION,
            "link_expires_at": timezone.now() + dt.timedelta(days=14),
        },
    )
    return {"token": OFFICIAL_TOKEN}


# fmt: off
# Columns:  anon part opar res  ores coap mem  othc recu chai comm stew
# (anonymous, participant, other participant, researcher = the applicant, other researcher,
#  co-applicant, member of the Test DAC, member of another committee, recused member of the
#  Test DAC, its chair, member of the community committee, steward)
VIEWERS =  (302, 404, 404, 200, 404, 200, 200, 404, 200, 200, 200, 200)
RESEARCHERS = (302, 403, 403, 200, 200, 200, 403, 403, 403, 403, 403, 403)
# The returned request: the applicant acts; everyone else who sees it may not.
APPLICANT_GET =  (302, 404, 404, 200, 404, 403, 403, 404, 403, 403, 403, 403)
APPLICANT_POST = (302, 404, 404, 302, 404, 403, 403, 404, 403, 403, 403, 403)
API_VIEWERS = (401, 404, 404, 200, 404, 200, 200, 404, 200, 200, 200, 200)
API_APPLICANT = (401, 404, 404, 200, 404, 403, 403, 404, 403, 403, 403, 403)
API_APPLICANT_CREATES = (401, 404, 404, 201, 404, 403, 403, 404, 403, 403, 403, 403)
API_SIGNED_IN = (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)

MATRIX: dict[str, list[Probe]] = {
    # --- pages: researchers ---
    "access:researcher_home": [Probe("get", _none, RESEARCHERS)],
    "access:request_new": [
        Probe("get", _none, RESEARCHERS),
        Probe("post", _none, (302, 403, 403, 302, 302, 302, 403, 403, 403, 403, 403, 403),
              _form(title="A new project")),
    ],
    "access:request": [Probe("get", _in_review, VIEWERS)],
    "access:request_edit": [
        Probe("get", _returned, APPLICANT_GET, query="?step=project"),
        Probe("post", _returned, APPLICANT_POST, _form(title="Clearer"), "?step=project"),
    ],
    "access:request_submit": [Probe("post", _returned, APPLICANT_POST)],
    "access:request_withdraw": [
        Probe("get", _returned, APPLICANT_GET),
        Probe("post", _returned, APPLICANT_POST, _form(comment="Not needed after all.")),
    ],
    "access:request_renew": [
        Probe("post", _approved, (302, 404, 404, 302, 404, 404, 403, 404, 403, 403, 403, 403)),
    ],
    "access:request_pdf": [Probe("get", _in_review, VIEWERS)],
    "access:coapplicant_invite": [
        Probe("post", _returned, APPLICANT_POST, _form(email="new.person@example.org")),
    ],
    "access:coapplicant_cancel": [Probe("post", _coapplicant, APPLICANT_POST)],
    "access:agreements_accept": [
        Probe("post", _draft, (302, 404, 404, 302, 404, 404, 404, 404, 404, 404, 404, 403)),
    ],
    "access:ethics_upload": [Probe("post", _returned, APPLICANT_POST, _ethics_page)],
    "access:ethics_download": [Probe("get", _document, VIEWERS)],
    "access:invitation": [
        Probe("get", _token, (302, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403)),
        Probe("post", _token, (302, 403, 403, 403, 403, 302, 403, 403, 403, 403, 403, 403),
              _form(answer="accept", accept_agreements="on")),
    ],
    "access:bona_fide": [
        Probe("get", _none, RESEARCHERS),
        Probe("post", _none, (302, 403, 403, 302, 302, 302, 403, 403, 403, 403, 403, 403),
              _form(official_name="Sigrid Official", official_email="so@riverside.example",
                    institution=INSTITUTION)),
    ],
    # The signing official needs no account: the link is the credential, for anyone holding it.
    "access:bona_fide_answer": [
        Probe("get", _official_token, (200,) * 12),
        Probe("post", _official_token, (200,) * 12, _form(answer="confirm")),
    ],
    # --- pages: committees ---
    "access:dac_home": [
        Probe("get", _none, (302, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 403)),
    ],
    # The committees' page: the applicants follow their request on its own page.
    "access:review": [
        Probe("get", _in_review, (302, 404, 404, 404, 404, 404, 200, 404, 200, 200, 200, 200))
    ],
    "access:vote": [
        Probe("post", _dac_review, (302, 404, 404, 403, 404, 403, 302, 404, 403, 302, 403, 403),
              _vote),
    ],
    "access:decide": [
        Probe("post", _dac_review, (302, 404, 404, 403, 404, 403, 403, 404, 403, 302, 403, 403),
              _decide),
    ],
    "access:revoke": [
        Probe("post", _revoke_page, (302, 404, 404, 403, 404, 404, 403, 404, 403, 302, 403, 403),
              _revoke),
    ],
    "access:community_use": [
        Probe("get", _community, (302, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 200)),
    ],
    # --- pages: stewards ---
    "access:steward_requests": [
        Probe("get", _none, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)),
    ],
    # --- pages: anyone ---
    "access:beacon": [
        Probe("get", _none, (200,) * 12),
        Probe("post", _none, (200,) * 12, lambda w: {
            "assembly": "GRCh38", "chromosome": "1", "kind": "allele", "position": "100",
            "reference": "A", "alternate": "G", "granularity": "boolean",
        }),
    ],
    "access:steward_beacon": [
        Probe("get", _none, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)),
    ],
    "access:steward_committees": [
        Probe("get", _none, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)),
        Probe("post", _none, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
              lambda w: {**_new_committee(w), "chairs": w.people["chair"].email}),
    ],
    "access:steward_committee": [
        Probe("get", _dac, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)),
        Probe("post", _dac, (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
              _form(action="publish", text="Version two of the agreement.")),
    ],
    # --- pages: everyone signed in, participants ---
    "access:notifications": [
        Probe("get", _none, (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
        Probe("post", _none, (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302)),
    ],
    "access:data_use": [
        Probe("get", _none, (302, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403)),
    ],
    # Download links: only the grant's holder asks; the delivery page is theirs alone; the
    # signed URL is its own credential (a bad one is refused to everybody alike).
    "access:delivery_request": [
        Probe("post", _grant, (302, 404, 404, 302, 404, 404, 403, 404, 403, 403, 404, 403)),
    ],
    "access:delivery": [
        Probe("get", _delivery, (302, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404, 404)),
    ],
    # Revoking one delivery's links: its requester, the reviewing committees' chairs and
    # stewards; the other members of those committees see it but may not (403).
    "access:delivery_revoke": [
        Probe("get", _ready_delivery,
              (302, 404, 404, 200, 404, 404, 403, 404, 403, 200, 403, 200)),
        Probe("post", _ready_delivery,
              (302, 404, 404, 302, 404, 404, 403, 404, 403, 302, 403, 302),
              _form(reason="Leaked.")),
    ],
    "access:download": [
        Probe("get", _bad_link, (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403)),
    ],
    # htsget's slicing URL: the signed link is the credential, as for a download.
    "access:slice": [
        Probe("get", _bad_link, (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403)),
    ],
    # --- API ---
    "access_api:requests": [
        Probe("get", _none, API_SIGNED_IN),
        Probe("post", _none, (401, 403, 403, 201, 201, 201, 403, 403, 403, 403, 403, 403),
              _form(title="A new project")),
    ],
    "access_api:request": [
        Probe("get", _in_review, API_VIEWERS),
        Probe("patch", _returned, API_APPLICANT, _form(title="Clearer")),
    ],
    "access_api:submit": [Probe("post", _returned, API_APPLICANT)],
    "access_api:withdraw": [Probe("post", _returned, API_APPLICANT, _form(comment="Done."))],
    "access_api:renew": [
        Probe("post", _approved, (401, 404, 404, 201, 404, 404, 403, 404, 403, 403, 403, 403)),
    ],
    "access_api:timeline": [Probe("get", _in_review, API_VIEWERS)],
    "access_api:match": [Probe("get", _in_review, API_VIEWERS)],
    "access_api:coapplicant_invite": [
        Probe("post", _returned, API_APPLICANT_CREATES, _form(email="new.person@example.org")),
    ],
    "access_api:coapplicant_cancel": [Probe("delete", _coapplicant, API_APPLICANT)],
    "access_api:agreements": [Probe("get", _in_review, API_VIEWERS)],
    "access_api:agreements_accept": [
        Probe("post", _draft, (401, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404, 403)),
    ],
    "access_api:ethics_upload": [
        Probe("post", _returned, API_APPLICANT_CREATES, _ethics_api),
    ],
    "access_api:ethics_download": [Probe("get", _document, API_VIEWERS)],
    "access_api:reviews": [Probe("get", _in_review, API_VIEWERS)],
    "access_api:vote": [
        Probe("put", _dac_review, (401, 404, 404, 403, 404, 403, 200, 404, 403, 200, 403, 403),
              _form(choice="approve", rationale="Looks sound.")),
    ],
    "access_api:decide": [
        Probe("post", _dac_review, (401, 404, 404, 403, 404, 403, 403, 404, 403, 200, 403, 403),
              _form(decision="approved")),
    ],
    "access_api:revoke": [
        Probe("post", _approved, (401, 404, 404, 403, 404, 404, 403, 404, 403, 200, 403, 403),
              _revoke_api),
    ],
    "access_api:invitation_accept": [
        Probe("post", _token, (401, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403),
              _form(accept_agreements=True)),
    ],
    "access_api:invitation_decline": [
        Probe("post", _token, (401, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403)),
    ],
    "access_api:grants": [Probe("get", _none, API_SIGNED_IN)],
    # The applicant's grant: theirs, and the granting committee's members' (recused or not).
    "access_api:grant": [
        Probe("get", _grant, (401, 404, 404, 200, 404, 404, 200, 404, 200, 200, 404, 200)),
    ],
    "access_api:delivery_create": [
        Probe("post", _grant, (401, 404, 404, 202, 404, 404, 403, 404, 403, 403, 404, 403),
              _form()),
    ],
    "access_api:delivery": [
        Probe("get", _delivery, (401, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404, 404)),
    ],
    "access_api:delivery_revoke": [
        Probe("post", _ready_delivery,
              (401, 404, 404, 200, 404, 404, 403, 404, 403, 200, 403, 200),
              _form(reason="Leaked.")),
    ],
    # The record of every delivery (no URLs): the reviewing committees and stewards; the
    # researcher sees their own under their request.
    "access_api:request_deliveries": [
        Probe("get", _approved, (401, 404, 404, 200, 404, 404, 200, 404, 200, 200, 200, 200)),
    ],
    "access_api:notifications": [Probe("get", _none, API_SIGNED_IN)],
    "access_api:notifications_read": [Probe("post", _none, API_SIGNED_IN, _form())],
    "access_api:committee_agreements": [
        Probe("get", _dac, (401, 404, 404, 404, 404, 404, 200, 404, 200, 200, 404, 200)),
        Probe("post", _dac, (401, 404, 404, 404, 404, 404, 403, 404, 403, 403, 404, 201),
              _form(text="Version two of the agreement.")),
    ],
    "access_api:community_uses": [
        Probe("get", _community, (401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 200)),
    ],
}
# fmt: on


def test_every_access_url_has_a_row() -> None:
    assert namespaced_patterns({"access", "access_api"}) == set(MATRIX)


def test_every_row_has_a_status_for_every_persona() -> None:
    widths = {len(probe.statuses) for probes in MATRIX.values() for probe in probes}
    assert widths == {len(PERSONAS)}


@pytest.fixture
def world(
    participant: User,
    other_participant: User,
    researcher: User,
    outsider: User,
    dac_member: User,
    third_member: User,
    dac_chair: User,
    other_dac_member: User,
    steward: User,
    dac: Committee,
    community: Committee,
    cohort: Cohort,
    consent_version: ConsentVersion,
    agreement: Any,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> World:
    settings.CUSTODIAN_PRIVATE_ROOT = tmp_path
    return build_world(
        participant=participant,
        other_participant=other_participant,
        researcher=researcher,
        outsider=outsider,
        dac_member=dac_member,
        third_member=third_member,
        dac_chair=dac_chair,
        other_dac_member=other_dac_member,
        steward=steward,
        dac=dac,
        community=community,
        dataset=cohort.dataset,
        consent_version=consent_version,
        capture=django_capture_on_commit_callbacks,
    )


def _send(client: Any, probe: Probe, url: str, world: World, api: bool) -> Any:
    if probe.method == "get":
        return client.get(url)
    body = probe.body(world) if probe.body else {}
    if not api:
        return client.post(url, body)
    multipart = any(hasattr(value, "read") for value in body.values())
    return getattr(client, probe.method)(url, body, format="multipart" if multipart else "json")


@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(persona: str, world: World) -> None:
    column = PERSONAS.index(persona)
    user = world.people.get(persona)
    clients = {False: html_client(user), True: token_client(user)}
    wrong: list[str] = []
    for name, probes in MATRIX.items():
        api = name.startswith("access_api:")
        for probe in probes:
            url = reverse(name, kwargs=probe.kwargs(world)) + probe.query
            savepoint = transaction.savepoint()
            try:
                response = _send(clients[api], probe, url, world, api)
            finally:
                transaction.savepoint_rollback(savepoint)
            got, expected = response.status_code, probe.statuses[column]
            # Streaming bodies are read through the test client's wrapper, which closes the
            # file without closing the test's database connection (a bare close() would).
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            where = f"{probe.method.upper()} {name} {url}"
            if got != expected:
                wrong.append(f"{where}: {got}, expected {expected}")
            elif got == 302:
                signing_in = response["Location"].startswith(SIGN_IN)
                if signing_in != (persona == "anonymous"):
                    wrong.append(f"{where}: redirected to {response['Location']}")
            if persona in NEVER_SEE_VOTES and RATIONALE.encode() in content:
                wrong.append(f"{where}: shows a vote's rationale")
    assert wrong == [], f"{persona}:\n" + "\n".join(wrong)
