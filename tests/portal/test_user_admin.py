"""The accounts admin writes only through services: each change is audited with its actor,
and accounts are never deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from portal.models import AuditEvent, Role, User
from tests.conftest import signed_in_client
from tests.factories import UserFactory


@pytest.fixture
def operator(db: None) -> User:
    return UserFactory(email="operator@example.org", role=Role.STEWARD, is_superuser=True)


@pytest.fixture
def admin(operator: User) -> Client:
    return signed_in_client(operator)


def _change_form(user: User, **changes: Any) -> dict[str, Any]:
    form = {
        "email": user.email,
        "full_name": user.full_name,
        "institution": user.institution,
        "roles": user.roles,
        "is_active": "on",
        "email_verified": "on",
        **changes,
    }
    return {name: value for name, value in form.items() if value is not None}


def test_changed_details_are_audited_with_before_and_after(
    admin: Client, operator: User, researcher: User
) -> None:
    response = admin.post(
        f"/admin/portal/user/{researcher.pk}/change/",
        _change_form(researcher, full_name="Rosalind E. Franklin", institution="Birkbeck"),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    researcher.refresh_from_db()
    assert (researcher.full_name, researcher.institution) == ("Rosalind E. Franklin", "Birkbeck")
    event = AuditEvent.objects.get(action="user.update")
    assert event.actor == operator
    assert event.after == {"full_name": "Rosalind E. Franklin", "institution": "Birkbeck"}
    assert set(event.before) == {"full_name", "institution"}


def test_deactivation_is_audited(admin: Client, operator: User, researcher: User) -> None:
    response = admin.post(
        f"/admin/portal/user/{researcher.pk}/change/", _change_form(researcher, is_active=None)
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    researcher.refresh_from_db()
    assert researcher.is_active is False
    event = AuditEvent.objects.get(action="user.update")
    assert (event.before, event.after) == ({"is_active": True}, {"is_active": False})


def test_unchanged_save_writes_no_audit_entry(admin: Client, researcher: User) -> None:
    before = AuditEvent.objects.count()

    response = admin.post(f"/admin/portal/user/{researcher.pk}/change/", _change_form(researcher))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.count() == before


def test_account_created_in_the_admin_goes_through_the_service(
    admin: Client, operator: User
) -> None:
    response = admin.post(
        "/admin/portal/user/add/",
        {
            "email": "New.Person@Example.org",
            "full_name": "New Person",
            "roles": ["researcher", "dac_member"],
            "usable_password": "true",
            "password1": "a long enough passphrase for them",
            "password2": "a long enough passphrase for them",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.person@example.org")
    assert user.roles == ["dac_member", "researcher"]
    assert user.check_password("a long enough passphrase for them")
    created = AuditEvent.objects.get(action="user.create")
    assert (created.actor, created.object_id) == (operator, str(user.pk))
    assert AuditEvent.objects.filter(action="user.roles_set", object_id=str(user.pk)).exists()


def test_password_set_in_the_admin_is_audited(
    admin: Client, operator: User, researcher: User
) -> None:
    response = admin.post(
        f"/admin/portal/user/{researcher.pk}/password/",
        {
            "usable_password": "true",
            "password1": "an operator's new long passphrase",
            "password2": "an operator's new long passphrase",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    researcher.refresh_from_db()
    assert researcher.check_password("an operator's new long passphrase")
    event = AuditEvent.objects.get(action="user.password_set")
    assert (event.actor, event.after) == (operator, {"usable": True})


def test_accounts_are_never_deleted(admin: Client, researcher: User) -> None:
    response = admin.post(f"/admin/portal/user/{researcher.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=researcher.pk).exists()
