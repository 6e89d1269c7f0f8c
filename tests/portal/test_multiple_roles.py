"""A person may hold several roles: menus, homes, /home/, the second factor, and the
steward's `user_roles_set`."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portal.context_processors import navigation_for
from portal.exceptions import PermissionError_
from portal.models import AuditEvent, Role, User
from portal.services import AccountError, user_roles_set
from tests.conftest import signed_in_client
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def reviewer_researcher(db: None) -> User:
    return UserFactory(
        email="both@example.org",
        full_name="Bo Both",
        roles=[Role.RESEARCHER, Role.DAC_MEMBER],
    )


def _nav_links(page: str) -> list[tuple[str, str]]:
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)


# --- menus and homes -----------------------------------------------------------------------


def test_multiple_roles_menu_is_the_union_of_both_roles_in_priority_order(
    reviewer_researcher: User,
) -> None:
    page = signed_in_client(reviewer_researcher).get("/account/").content.decode()

    assert _nav_links(page)[1:4] == [
        ("/access/committee/", "Review requests"),
        ("/access/researcher/", "My applications"),
        ("/api/docs/", "API"),
    ]
    assert "Signed in as Bo Both (DAC member, Researcher)" in page


def test_multiple_roles_menu_lists_a_shared_page_once(db: None) -> None:
    user = User(roles=[Role.RESEARCHER, Role.STEWARD, Role.DAC_CHAIR, Role.DAC_MEMBER])

    assert navigation_for(user) == [
        ("Datasets", "datasets:steward_home"),
        ("Participants", "consent:participants"),
        ("Consent", "consent:overview"),
        ("Requests", "access:steward_requests"),
        ("Committees", "access:steward_committees"),
        ("API", "api_docs"),
        ("Review requests", "access:dac_home"),
        ("My applications", "access:researcher_home"),
    ]


def test_multiple_roles_person_opens_the_home_of_each_role(reviewer_researcher: User) -> None:
    client = signed_in_client(reviewer_researcher)

    assert client.get("/access/researcher/").status_code == 200
    assert client.get("/access/committee/").status_code == 200
    # A role they do not hold is still refused.
    assert client.get("/datasets/steward/").status_code == 403


def test_multiple_roles_home_redirects_to_the_highest_priority_role(
    reviewer_researcher: User,
) -> None:
    response = signed_in_client(reviewer_researcher).get("/home/")

    assert response.status_code == 302
    assert response["Location"] == "/access/committee/"


def test_multiple_roles_steward_who_also_researches_goes_to_the_steward_home(db: None) -> None:
    user = UserFactory(roles=[Role.RESEARCHER, Role.STEWARD])

    response = signed_in_client(user).get("/home/")

    assert response["Location"] == "/datasets/steward/"


def test_multiple_roles_account_without_a_role_has_no_home(db: None) -> None:
    user = UserFactory(roles=[])

    response = signed_in_client(user).get("/home/")

    assert response.status_code == 403
    assert "Your account has no role yet: ask a data steward to give it one." in (
        response.content.decode()
    )


def test_multiple_roles_api_me_lists_every_role(reviewer_researcher: User) -> None:
    body = signed_in_client(reviewer_researcher).get("/api/v1/me/").json()

    assert (body["role"], body["roles"]) == ("dac_member", ["researcher", "dac_member"])


# --- second factor -------------------------------------------------------------------------


def test_multiple_roles_otp_needed_if_any_role_needs_it(db: None) -> None:
    assert User(roles=[Role.RESEARCHER, Role.DAC_MEMBER]).needs_otp
    assert User(roles=[Role.PARTICIPANT, Role.STEWARD]).needs_otp
    assert not User(roles=[Role.RESEARCHER, Role.PARTICIPANT, Role.PROXY]).needs_otp


def test_multiple_roles_researcher_who_reviews_must_confirm_a_code(
    reviewer_researcher: User,
) -> None:
    client = Client()
    client.post("/account/sign-in/", {"email": reviewer_researcher.email, "password": PASSWORD})

    # Even the researcher's own page waits for the second factor.
    response = client.get("/access/researcher/")

    assert response.status_code == 302
    assert response["Location"] == "/account/otp/"


# --- user_roles_set ------------------------------------------------------------------------


def test_user_roles_set_stores_the_roles_in_priority_order_and_audits(
    steward: User, researcher: User
) -> None:
    user_roles_set(actor=steward, user=researcher, roles=["researcher", "dac_member"])

    researcher.refresh_from_db()
    assert researcher.roles == ["dac_member", "researcher"]
    assert not researcher.is_staff
    event = AuditEvent.objects.get(action="user.roles_set")
    assert (event.actor, event.object_type, event.object_id) == (
        steward,
        "portal.user",
        str(researcher.pk),
    )
    assert event.before == {"roles": ["researcher"]}
    assert event.after == {"roles": ["dac_member", "researcher"]}


def test_user_roles_set_gives_and_takes_the_admin_with_the_steward_role(
    steward: User, researcher: User
) -> None:
    user_roles_set(actor=steward, user=researcher, roles=[Role.STEWARD, Role.RESEARCHER])
    researcher.refresh_from_db()
    assert researcher.is_staff

    user_roles_set(actor=steward, user=researcher, roles=[Role.RESEARCHER])
    researcher.refresh_from_db()
    assert not researcher.is_staff


def test_user_roles_set_refuses_an_unknown_role(steward: User, researcher: User) -> None:
    with pytest.raises(AccountError) as raised:
        user_roles_set(actor=steward, user=researcher, roles=["researcher", "overlord"])

    assert raised.value.message == (
        "Unknown role: overlord. The roles are: participant, researcher, dac_member, "
        "dac_chair, steward, proxy."
    )
    researcher.refresh_from_db()
    assert researcher.roles == ["researcher"]
    assert not AuditEvent.objects.filter(action="user.roles_set").exists()


def test_user_roles_set_refuses_an_empty_list(steward: User, researcher: User) -> None:
    with pytest.raises(AccountError) as raised:
        user_roles_set(actor=steward, user=researcher, roles=[])

    assert raised.value.message == (
        "researcher@example.org needs at least one role: an account without a role has no home."
    )
    researcher.refresh_from_db()
    assert researcher.roles == ["researcher"]


def test_a_steward_cannot_remove_their_own_steward_role(steward: User) -> None:
    with pytest.raises(AccountError) as raised:
        user_roles_set(actor=steward, user=steward, roles=[Role.RESEARCHER])

    assert raised.value.message == (
        "You cannot remove your own data steward role: ask another steward."
    )
    steward.refresh_from_db()
    assert steward.roles == ["steward"]
    user_roles_set(actor=steward, user=steward, roles=[Role.STEWARD, Role.DAC_MEMBER])
    steward.refresh_from_db()
    assert steward.roles == ["steward", "dac_member"]


@pytest.mark.parametrize("actor_role", [Role.RESEARCHER, Role.DAC_CHAIR, Role.PARTICIPANT])
def test_user_roles_set_refuses_anyone_but_a_steward(researcher: User, actor_role: Role) -> None:
    actor = UserFactory(role=actor_role)

    with pytest.raises(PermissionError_) as raised:
        user_roles_set(actor=actor, user=researcher, roles=[Role.STEWARD])

    assert raised.value.message == "Only data stewards change a person's roles."
    researcher.refresh_from_db()
    assert researcher.roles == ["researcher"]


def test_user_roles_set_from_the_admin_goes_through_the_service(researcher: User) -> None:
    steward = UserFactory(email="operator@example.org", role=Role.STEWARD, is_superuser=True)
    client = signed_in_client(steward)
    url = f"/admin/portal/user/{researcher.pk}/change/"
    form = {
        "email": researcher.email,
        "full_name": researcher.full_name,
        "institution": researcher.institution,
        "roles": ["researcher", "dac_chair"],
        "is_active": "on",
        "email_verified": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
    }

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    researcher.refresh_from_db()
    assert researcher.roles == ["dac_chair", "researcher"]
    event = AuditEvent.objects.get(action="user.roles_set")
    assert (event.actor, event.before, event.after) == (
        steward,
        {"roles": ["researcher"]},
        {"roles": ["dac_chair", "researcher"]},
    )
