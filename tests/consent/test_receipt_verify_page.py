"""The receipt's "check it yourself" page: before sealing it says the record waits to be
sealed; after, it carries what a browser needs, and that checks out by RFC 9162 and the
portal's verifier key; another participant's record is a 404."""

from __future__ import annotations

import json
import re

from django.test import Client

from consent.models import Channel, ConsentRecord, ConsentVersion, Participant
from consent.services import consent_record, consent_version_publish
from portal.ledger import ledger_seal
from portal.models import User
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES, assert_record_proof, give, make_version


def _record(participant: User, steward: User) -> ConsentRecord:
    version: ConsentVersion = consent_version_publish(actor=steward, version=make_version(steward))
    return give(participant.participant, version)


def _data(html: str) -> dict:
    match = re.search(r'<script id="verify-data" type="application/json">(.*?)</script>', html)
    assert match, "no verify-data on the page"
    return json.loads(match.group(1))


def test_verify_page_before_sealing_says_the_record_waits(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)

    response = signed_in_client(participant).get(f"/consent/receipts/{record.pk}/verify/")

    assert response.status_code == 200
    assert "This record is waiting to be sealed in the public log." in response.content.decode()
    assert "verify-data" not in response.content.decode()


def test_verify_page_after_sealing_carries_a_proof_that_checks_out(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()

    response = signed_in_client(participant).get(f"/consent/receipts/{record.pk}/verify/")

    assert_record_proof(_data(response.content.decode()), record)


def test_receipt_links_to_the_check(db: None, participant: User, steward: User) -> None:
    record = _record(participant, steward)

    response = signed_in_client(participant).get(f"/consent/receipts/{record.pk}/")

    assert f'href="/consent/receipts/{record.pk}/verify/"' in response.content.decode()


def test_another_participants_record_is_a_404(
    db: None, participant: User, other_participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()

    response = signed_in_client(other_participant).get(f"/consent/receipts/{record.pk}/verify/")

    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(db: None, participant: User, steward: User) -> None:
    record = _record(participant, steward)

    response = Client().get(f"/consent/receipts/{record.pk}/verify/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_outsider_is_refused(db: None, outsider: User, participant: User, steward: User) -> None:
    record = _record(participant, steward)

    response = signed_in_client(outsider).get(f"/consent/receipts/{record.pk}/verify/")

    assert response.status_code == 403


def test_verify_page_and_its_verdicts_are_in_welsh(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()
    client = signed_in_client(participant)
    client.cookies["custodian_language"] = "cy"

    html = client.get(f"/consent/receipts/{record.pk}/verify/").content.decode()

    assert f"Gwirio cofnod {record.sequence} eich hun" in html
    assert "Beth wiriodd eich porwr" in html
    assert "data-ok=\"Wedi'i wirio. Gwiriodd eich porwr" in html
    assert "data-proof=\"Rhybudd: nid yw'r prawf yn arwain" in html
    assert 'Cyhoeddir yr un pwynt gwirio ac allwedd yn <a href="/ledger/checkpoint">' in html
    for english in ("What your browser checked", "not checked yet", "Warning:", "Verified."):
        assert english not in html, english


def test_history_on_the_consent_page_links_to_each_records_check(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    client = signed_in_client(participant)

    english = client.get("/consent/").content.decode()
    client.cookies["custodian_language"] = "cy"
    welsh = client.get("/consent/").content.decode()

    link = f'<a href="/consent/receipts/{record.pk}/verify/">'
    assert f'{link}Check<span class="visually-hidden"> record 1 yourself</span></a>' in english
    assert f'{link}Gwirio<span class="visually-hidden"> cofnod 1 eich hun</span></a>' in welsh


def test_guardian_checks_the_childs_record_only_while_acting_for_them(
    db: None, child: Participant, guardian: User, version: ConsentVersion
) -> None:
    record = consent_record(
        actor=guardian,
        participant=child,
        version=version,
        answers=ALL_YES,
        signature=guardian.full_name,
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=guardian,
    )
    ledger_seal()
    client = signed_in_client(guardian)
    url = f"/consent/receipts/{record.pk}/verify/"

    # Not yet acting for the child (chosen on the guardian's home page): a 404.
    assert client.get(url).status_code == 404
    client.post("/consent/proxy/", {"participant": child.pk})
    data = _data(client.get(url).content.decode())

    assert data["record_hash"] == record.record_hash
    assert json.loads(data["entry"])["after"]["record_hash"] == record.record_hash
