"""The "Administration" link is offered only to someone who may use a page of the admin, and
every page its index then lists opens (a steward without model permissions would find only
"You don't have permission to view or edit anything")."""

from __future__ import annotations

import re

from django.contrib.auth.models import Permission
from django.test import Client

from portal.models import Role, User
from tests.conftest import signed_in_client
from tests.factories import UserFactory


def _has_link(client: Client) -> bool:
    page = client.get("/datasets/steward/").content.decode()
    return '<a href="/admin/">Administration</a>' in page


def test_a_steward_without_admin_permissions_is_not_offered_the_administration(
    steward: User,
) -> None:
    assert steward.is_staff
    assert not _has_link(signed_in_client(steward))


def test_a_superuser_steward_is_offered_it_and_every_listed_page_opens(db: None) -> None:
    root = UserFactory(email="root@example.org", role=Role.STEWARD, is_superuser=True)

    client = signed_in_client(root)
    assert _has_link(client)
    index = client.get("/admin/").content.decode()
    pages = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index)))
    assert "/admin/portal/auditevent/" in pages
    for url in pages:
        assert client.get(url).status_code == 200, url


def test_a_steward_allowed_one_model_sees_only_that_model(steward: User) -> None:
    steward.user_permissions.add(Permission.objects.get(codename="view_auditevent"))

    client = signed_in_client(steward)
    assert _has_link(client)
    index = client.get("/admin/").content.decode()
    assert sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index))) == [
        "/admin/portal/auditevent/"
    ]
