from __future__ import annotations

import html

import pytest
from django.test import Client

from datasets.models import Committee
from portal.models import User
from tests.conftest import signed_in_client
from tests.factories import CommitteeFactory, UserFactory

HOME_URLS = {
    "participant": "/consent/",
    "researcher": "/access/researcher/",
    "dac_member": "/access/committee/",
    "dac_chair": "/access/committee/",
    "steward": "/datasets/steward/",
}
PERSONAS = list(HOME_URLS)
# Who each page is for, as the 403 page names them.
FOR_WHOM = {
    "/consent/": "participants or proxies",
    "/access/researcher/": "researchers",
    "/access/committee/": "DAC members or DAC chairs",
    "/datasets/steward/": "data stewards",
}
# Navigation: (label, href) pairs each role sees, and a few it must not.
NAVIGATION = {
    "participant": [("My consent", "/consent/")],
    "researcher": [("My applications", "/access/researcher/"), ("API", "/api/docs/")],
    "dac_member": [("Review requests", "/access/committee/")],
    "dac_chair": [("Review requests", "/access/committee/")],
    "steward": [
        ("Datasets", "/datasets/steward/"),
        ("Participants", "/consent/participants/"),
        ("API", "/api/docs/"),
    ],
}
# Administration is offered to no role as such: only to someone who may use a page of it.
ALL_NAV_LABELS = {label for items in NAVIGATION.values() for label, _ in items} | {"Administration"}


def _client(persona: str, request: pytest.FixtureRequest) -> Client:
    return signed_in_client(request.getfixturevalue(persona))


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_pages_home_redirects_by_role(persona: str, request: pytest.FixtureRequest) -> None:
    response = _client(persona, request).get("/home/")

    assert response.status_code == 302
    assert response["Location"] == HOME_URLS[persona]


def test_role_pages_home_sends_anonymous_to_sign_in(db: None) -> None:
    response = Client().get("/home/")

    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/home/"


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_pages_own_home_is_shown(persona: str, request: pytest.FixtureRequest) -> None:
    response = _client(persona, request).get(HOME_URLS[persona])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        (persona, url)
        for persona in PERSONAS
        for url in sorted(set(HOME_URLS.values()))
        if url != HOME_URLS[persona]
    ],
)
def test_role_pages_other_roles_home_is_not_allowed(
    persona: str, url: str, request: pytest.FixtureRequest
) -> None:
    response = _client(persona, request).get(url)

    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>Not allowed</h1>" in page
    assert "<title>Not allowed · Custodian</title>" in page
    assert '<a href="/home/">your home page</a>' in page


@pytest.mark.parametrize("url", ["/consent/", "/access/researcher/", "/datasets/steward/"])
def test_role_pages_not_allowed_page_names_who_may(
    url: str, researcher: User, participant: User
) -> None:
    # Someone other than the page's own role.
    user = participant if url != "/consent/" else researcher

    response = signed_in_client(user).get(url)

    assert response.status_code == 403
    assert f"<p>This page is for {FOR_WHOM[url]}.</p>" in response.content.decode()


def test_role_pages_not_allowed_page_is_in_the_readers_language(participant: User) -> None:
    participant.language = "cy"
    participant.save(update_fields=["language"])
    client = signed_in_client(participant)

    steward_page = client.get("/datasets/steward/")
    committee_page = client.get("/access/committee/")

    assert steward_page.status_code == committee_page.status_code == 403
    assert "<p>Mae'r dudalen hon ar gyfer stiwardiaid data.</p>" in html.unescape(
        steward_page.content.decode()
    )
    assert "<p>Mae'r dudalen hon ar gyfer aelodau pwyllgorau.</p>" in html.unescape(
        committee_page.content.decode()
    )


def test_role_pages_not_allowed_page_names_committee_members(researcher: User) -> None:
    # Sitting on a committee, not only a DAC role, opens the committee page.
    response = signed_in_client(researcher).get("/access/committee/")

    assert response.status_code == 403
    assert "<p>This page is for committee members.</p>" in response.content.decode()


@pytest.mark.parametrize("url", sorted(set(HOME_URLS.values())))
def test_role_pages_home_sends_anonymous_to_sign_in_with_next(db: None, url: str) -> None:
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={url}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_pages_navigation_shows_only_the_roles_items(
    persona: str, request: pytest.FixtureRequest
) -> None:
    page = _client(persona, request).get(HOME_URLS[persona]).content.decode()

    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    for label, href in NAVIGATION[persona]:
        assert f'<a href="{href}"' in nav, label
        assert f">{label}</a>" in nav, label
    own = {label for label, _ in NAVIGATION[persona]}
    for label in ALL_NAV_LABELS - own:
        assert f">{label}</a>" not in nav, label
    assert ">Account</a>" in nav
    assert "Sign out" in nav


def test_role_pages_navigation_marks_current_page(steward: User) -> None:
    page = signed_in_client(steward).get("/datasets/steward/").content.decode()

    assert '<a href="/datasets/steward/" aria-current="page">Datasets</a>' in page
    assert '<a href="/consent/participants/">Participants</a>' in page


def test_role_pages_steward_sees_participants_not_an_administration_refusing_every_page(
    steward: User,
) -> None:
    page = signed_in_client(steward).get("/datasets/steward/").content.decode()

    assert ">Participants</a>" in page
    assert ">Administration</a>" not in page


def test_role_pages_researcher_does_not_see_steward_items(researcher: User) -> None:
    page = signed_in_client(researcher).get("/access/researcher/").content.decode()

    assert ">Participants</a>" not in page
    assert ">Administration</a>" not in page
    assert "/consent/participants/" not in page
    assert "/admin/" not in page


def test_role_pages_anonymous_navigation_offers_sign_in_and_registration(db: None) -> None:
    page = Client().get("/").content.decode()

    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    assert '<a href="/account/sign-in/">Sign in</a>' in nav
    assert '<a href="/account/register/">Register as a researcher</a>' in nav
    assert "Sign out" not in nav


def test_role_pages_dac_home_lists_members_committee_and_chair(dac_member: User) -> None:
    page = signed_in_client(dac_member).get("/access/committee/").content.decode()

    assert (
        "<li><strong>Test DAC</strong> (data access committee; contact dac@example.org); "
        "chairs: Dana Chair</li>" in page
    )
    assert "As a chair you also record" not in page


def test_role_pages_dac_home_lists_only_the_users_committees(dac_member: User) -> None:
    other_chair = UserFactory(email="other.chair@example.org", role="dac_chair")
    other = CommitteeFactory(name="Other DAC")
    other.chairs.add(other_chair)
    other.members.add(other_chair)

    page = signed_in_client(dac_member).get("/access/committee/").content.decode()

    assert "<strong>Test DAC</strong>" in page
    assert "Other DAC" not in page


def test_role_pages_dac_home_for_chair_says_chair_duties(dac_member: User, dac_chair: User) -> None:
    page = signed_in_client(dac_chair).get("/access/committee/").content.decode()

    assert "<strong>Test DAC</strong>" in page
    assert "As a chair you also record your committee's decisions" in page


def test_role_pages_dac_home_without_committee_says_so(dac_chair: User) -> None:
    assert not Committee.objects.filter(members=dac_chair).exists()

    page = signed_in_client(dac_chair).get("/access/committee/").content.decode()

    assert "You are not a member of any committee yet." in page


def test_role_pages_steward_home_counts_participants(
    steward: User, participant: User, other_participant: User
) -> None:
    page = signed_in_client(steward).get("/datasets/steward/").content.decode()

    assert "<dt>Participants enrolled</dt><dd>2</dd>" in page
