from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from access.models import Committee
from consent.models import Participant
from portal.audit import audit_verify
from portal.models import AuditEvent, Role, User


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_every_role_and_prints_sign_ins(db: None) -> None:
    output = _seed()

    assert Participant.objects.count() == 200
    assert User.objects.filter(role=Role.RESEARCHER).count() == 2
    assert User.objects.filter(role=Role.STEWARD, is_staff=True).count() == 1
    committee = Committee.objects.get()
    assert [u.email for u in committee.chairs.all()] == ["chair@demo.custodian.test"]
    assert sorted(u.email for u in committee.members.all()) == [
        "chair@demo.custodian.test",
        "member@demo.custodian.test",
    ]
    assert "password for all: custodian-demo" in output
    assert "steward@demo.custodian.test" in output
    assert User.objects.get(email="participant007@demo.custodian.test").check_password(
        "custodian-demo"
    )


def test_seed_demo_is_idempotent(db: None) -> None:
    _seed()
    counts = (User.objects.count(), Participant.objects.count(), AuditEvent.objects.count())

    _seed()

    assert (User.objects.count(), Participant.objects.count(), AuditEvent.objects.count()) == counts
    assert audit_verify().ok
