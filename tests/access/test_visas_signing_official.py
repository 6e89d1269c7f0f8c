"""Bona fide researcher status: the researcher names their signing official, who gets an
emailed link, opens it without an account, sees who asks and confirms; the passport then
carries a ResearcherStatus visa (by "so"). Declined, used, expired, replaced and invalid
links each get a plain message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from access.models import OfficialAnswer, SigningOfficialConfirmation
from portal.models import Notification, User
from tests.access.visa_support import site, visas_by_type  # noqa: F401 - fixture
from tests.conftest import link_from_last_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]


PAGE = "/access/researcher/bona-fide/"
OFFICIAL = {
    "official_name": "Sigrid Official",
    "official_email": "Sigrid.Official@Uni.Example.ac.uk",
    "institution": "Example University",
}


@pytest.fixture
def ask(django_capture_on_commit_callbacks: Any) -> Any:
    """Post the researcher's form; the email leaves as the request ends (after commit; the
    test's own transaction never commits)."""

    def post(client: Client, **changes: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(PAGE, {**OFFICIAL, **changes})

    return post


def _official_link() -> str:
    return link_from_last_email("/access/bona-fide/")


def test_official_confirms_through_the_emailed_link_and_the_visa_appears(
    researcher: User, sign_in: Any, ask: Any
) -> None:
    researcher_client = sign_in(researcher)

    response = ask(researcher_client)

    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == ["sigrid.official@uni.example.ac.uk"]
    assert email.subject == "Please confirm Riley Researcher as a bona fide researcher"
    assert "Dear Sigrid Official," in email.body
    assert "https://custodian.example/access/bona-fide/" in email.body
    assert visas_by_type(researcher) == {}

    official = Client()  # no account, not signed in
    link = _official_link()
    page = official.get(link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Riley Researcher" in text
    assert "researcher@example.org" in text
    assert "Example University" in text

    answered = official.post(link, {"answer": "confirm"})

    assert answered.status_code == 200
    assert "You confirmed that Riley Researcher is a bona fide researcher" in (
        answered.content.decode()
    )
    confirmation = SigningOfficialConfirmation.objects.get()
    assert confirmation.status == OfficialAnswer.CONFIRMED
    [claims] = visas_by_type(researcher)["ResearcherStatus"]
    assert claims["ga4gh_visa_v1"] == {
        "type": "ResearcherStatus",
        "value": "https://doi.org/10.1038/s41431-018-0219-y",
        "source": "https://uni.example.ac.uk/",
        "by": "so",
        "asserted": int(confirmation.confirmed_at.timestamp()),
    }
    assert claims["sub"] == str(researcher.pk)
    notice = Notification.objects.get(user=researcher)
    assert notice.message == "Sigrid Official confirmed your bona fide researcher status."
    status_page = researcher_client.get(PAGE).content.decode()
    assert "Confirmed</strong> by Sigrid Official" in status_page


def test_confirmed_status_lasts_a_year_and_caps_the_visa(
    researcher: User, sign_in: Any, settings: Any, ask: Any
) -> None:
    settings.CUSTODIAN_VISA_MAX_SECONDS = 400 * 86400
    ask(sign_in(researcher))
    Client().post(_official_link(), {"answer": "confirm"})
    confirmation = SigningOfficialConfirmation.objects.get()

    [claims] = visas_by_type(researcher)["ResearcherStatus"]

    assert confirmation.expires_at - confirmation.confirmed_at == dt.timedelta(days=365)
    assert claims["exp"] == int(confirmation.expires_at.timestamp())


def test_an_expired_confirmation_gives_no_visa(researcher: User, sign_in: Any, ask: Any) -> None:
    ask(sign_in(researcher))
    Client().post(_official_link(), {"answer": "confirm"})
    SigningOfficialConfirmation.objects.update(
        confirmed_at=timezone.now() - dt.timedelta(days=400),
        expires_at=timezone.now() - dt.timedelta(days=35),
    )

    assert visas_by_type(researcher) == {}


def test_official_declines(researcher: User, sign_in: Any, ask: Any) -> None:
    researcher_client = sign_in(researcher)
    ask(researcher_client)

    response = Client().post(_official_link(), {"answer": "decline"})

    assert response.status_code == 200
    assert "You declined." in response.content.decode()
    assert SigningOfficialConfirmation.objects.get().status == OfficialAnswer.DECLINED
    assert visas_by_type(researcher) == {}
    assert "declined on" in researcher_client.get(PAGE).content.decode()


def test_a_used_link_says_so(researcher: User, sign_in: Any, ask: Any) -> None:
    ask(sign_in(researcher))
    link = _official_link()
    Client().post(link, {"answer": "confirm"})
    today = timezone.localdate().strftime("%-d %B %Y")

    for response in (Client().get(link), Client().post(link, {"answer": "decline"})):
        assert response.status_code == 400
        assert (
            f"This link has already been used: the request was confirmed on {today}."
            in response.content.decode()
        )
    assert SigningOfficialConfirmation.objects.get().status == OfficialAnswer.CONFIRMED


def test_an_expired_link_says_so(researcher: User, sign_in: Any, ask: Any) -> None:
    ask(sign_in(researcher))
    link = _official_link()
    yesterday = timezone.now() - dt.timedelta(days=1)
    SigningOfficialConfirmation.objects.update(link_expires_at=yesterday)
    when = timezone.localtime(yesterday).strftime("%-d %B %Y")

    response = Client().post(link, {"answer": "confirm"})

    assert response.status_code == 400
    assert (
        f"This confirmation link expired on {when}. Ask Riley Researcher to send a new request."
        in response.content.decode()
    )
    assert SigningOfficialConfirmation.objects.get().status == OfficialAnswer.PENDING


def test_asking_again_replaces_the_waiting_link(researcher: User, sign_in: Any, ask: Any) -> None:
    client = sign_in(researcher)
    ask(client)
    first_link = _official_link()
    ask(client, official_name="Olga Other", official_email="olga@uni.example.ac.uk")
    second_link = _official_link()

    old = Client().get(first_link)

    assert old.status_code == 400
    assert (
        "Riley Researcher sent a newer request after this one, so this link no longer works."
        in old.content.decode()
    )
    assert Client().get(second_link).status_code == 200
    assert sorted(SigningOfficialConfirmation.objects.values_list("status", flat=True)) == [
        "cancelled",
        "pending",
    ]


def test_an_invalid_link_says_so(client: Client) -> None:
    response = client.get("/access/bona-fide/not-a-real-token/")

    assert response.status_code == 400
    assert (
        "This confirmation link is not valid. Check that you copied the whole link"
        in response.content.decode()
    )


def test_an_answer_that_is_neither_is_refused(researcher: User, sign_in: Any, ask: Any) -> None:
    ask(sign_in(researcher))

    response = Client().post(_official_link(), {"answer": "maybe"})

    assert response.status_code == 400
    assert "Choose whether you confirm or decline." in response.content.decode()
    assert SigningOfficialConfirmation.objects.get().status == OfficialAnswer.PENDING


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"official_email": "researcher@example.org"},
            "Your signing official is someone at your institution other than you.",
        ),
        ({"official_email": "not-an-address"}, "Enter a valid email address."),
        ({"official_name": ""}, "This field is required."),
        ({"institution": "  "}, "This field is required."),
    ],
)
def test_asking_with_bad_details_is_refused_plainly(
    researcher: User, sign_in: Any, changes: dict[str, str], message: str, ask: Any
) -> None:
    response = ask(sign_in(researcher), **changes)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert mail.outbox == []
    assert not SigningOfficialConfirmation.objects.exists()


def test_the_page_is_for_researchers(participant: User, sign_in: Any, ask: Any) -> None:
    client = sign_in(participant)
    client.raise_request_exception = False

    assert client.get(PAGE).status_code == 403
    assert ask(client).status_code == 403
    assert mail.outbox == []


def test_the_researcher_home_links_to_the_status_page(researcher: User, sign_in: Any) -> None:
    page = sign_in(researcher).get("/access/researcher/").content.decode()

    assert 'href="/access/researcher/bona-fide/"' in page
    assert 'href="/ga4gh/passport/v1/visas"' in page


def test_asking_is_capped_at_five_a_day(researcher: User, sign_in: Any, ask: Any) -> None:
    client = sign_in(researcher)
    for n in range(5):
        assert ask(client, official_email=f"so{n}@uni.example.ac.uk").status_code == 302

    response = ask(client, official_email="so5@uni.example.ac.uk")

    assert response.status_code == 429
    assert (
        "You have asked 5 times in the last 24 hours. Wait a day before asking again"
        in response.content.decode()
    )
    assert len(mail.outbox) == 5
