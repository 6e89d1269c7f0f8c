from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from consent.models import Participant
from datasets.models import Committee
from portal.ledger import ledger_seal, ledger_tree_verify
from portal.models import AuditEvent, Role, User


@pytest.fixture(autouse=True)
def _data_root(settings: Any, tmp_path: Path) -> None:
    # The demo writes real genomic files: keep them out of the project's var/data.
    settings.CUSTODIAN_DATA_ROOT = tmp_path / "data"


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_every_role_and_prints_sign_ins(db: None) -> None:
    output = _seed()

    assert Participant.objects.count() == 200
    assert User.objects.filter(roles__contains=[Role.RESEARCHER]).count() == 2
    assert User.objects.filter(roles__contains=[Role.STEWARD], is_staff=True).count() == 1
    committee = Committee.objects.get(kind="dac")
    assert [u.email for u in committee.chairs.all()] == ["chair@demo.custodian.test"]
    assert sorted(u.email for u in committee.members.all()) == [
        "chair@demo.custodian.test",
        "member2@demo.custodian.test",
        "member@demo.custodian.test",
    ]
    community = Committee.objects.get(kind="community")
    assert community.name == "Tamar Valley Nation governance committee"
    assert community.community_samples.count() == 12
    assert "password for all: custodian-demo" in output
    assert "steward@demo.custodian.test" in output
    assert User.objects.get(email="participant007@demo.custodian.test").check_password(
        "custodian-demo"
    )


def test_seed_demo_has_access_requests_in_every_state(db: None) -> None:
    from access.models import AccessRequest, Grant, RequestStatus, Vote
    from access.permissions import recusal_reason

    _seed()

    assert sorted(AccessRequest.objects.values_list("status", flat=True)) == sorted(
        RequestStatus.values
    )
    assert Vote.objects.exists()
    assert Grant.objects.filter(revoked_at__isnull=False).exists()
    under_review = AccessRequest.objects.get(status=RequestStatus.UNDER_REVIEW)
    recused = User.objects.get(email="member2@demo.custodian.test")
    review = under_review.reviews.get(committee__kind="dac")
    assert recusal_reason(recused, review) == (
        "You are from the applicant's institution (University of Cambridge)."
    )


def test_seed_demo_is_idempotent(db: None) -> None:
    _seed()
    counts = (User.objects.count(), Participant.objects.count(), AuditEvent.objects.count())

    _seed()

    assert (User.objects.count(), Participant.objects.count(), AuditEvent.objects.count()) == counts
    assert ledger_seal().tree_size == AuditEvent.objects.count()
    assert ledger_tree_verify().problem is None


def test_seed_demo_gives_varied_consent_histories(db: None) -> None:
    from consent.models import (
        ConsentRecord,
        ConsentVersion,
        CurrentConsent,
        ParticipantProxy,
        RecordKind,
    )
    from consent.selectors import consent_ledger_verify

    _seed()

    assert sorted(
        ConsentVersion.objects.filter(status="published").values_list("language", flat=True)
    ) == ["cy", "en"]
    statuses = set(CurrentConsent.objects.values_list("status", flat=True))
    assert statuses == {"active", "no_contact", "no_access", "no_use"}
    assert ConsentRecord.objects.filter(kind=RecordKind.CHANGE).count() >= 20
    assert ConsentRecord.objects.filter(proxy__isnull=False).count() >= 5
    assert ParticipantProxy.objects.filter(ended_at__isnull=True).count() == 8
    assert ConsentRecord.objects.filter(version__language="cy").exists()
    assert CurrentConsent.objects.count() < 200, "some participants have not consented yet"
    assert consent_ledger_verify().ok


def test_seed_demo_releases_two_datasets_with_linked_samples(db: None) -> None:
    from datasets.models import Dataset

    _seed()

    released = Dataset.objects.filter(status="released").order_by("accession")
    assert released.count() == 2
    assert all(d.files.exists() for d in released)
