"""The steward's consent overview: exact counts for a small population, and the chart."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consent.models import Channel, ConsentVersion, Participant, WithdrawalLevel
from consent.selectors import consent_statistics
from consent.services import consent_version_publish, consent_withdraw
from portal.models import User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version
from tests.factories import ParticipantFactory

URL = "/consent/overview/"


def _withdraw(participant: Participant, level: WithdrawalLevel, sequence: int) -> None:
    consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=level,
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=sequence,
    )


@pytest.fixture
def population(steward: User, version: ConsentVersion) -> dict[str, Participant]:
    """Six participants: three active (one signed the Welsh form), two withdrawn, one not
    yet consented."""
    welsh = consent_version_publish(
        actor=steward, version=make_version(steward, language="cy", document=version.document)
    )
    people = {name: ParticipantFactory(study_id=name) for name in ("P1", "P2", "P3", "P4", "P5")}
    people["P6"] = ParticipantFactory(study_id="P6", language="cy")
    give(people["P1"], version, ALL_YES)
    give(people["P2"], version, {**ALL_YES, "ancestry": "ask", "commercial": "no"})
    give(people["P3"], version, {**ALL_YES, "ancestry": "no", "commercial": "ask"})
    _withdraw(people["P3"], WithdrawalLevel.NO_CONTACT, 1)
    give(people["P4"], version, ALL_YES)
    _withdraw(people["P4"], WithdrawalLevel.NO_USE, 1)
    give(people["P6"], welsh, {**ALL_YES, "general": "no"})
    return people


def _status(statistics: Any) -> dict[str, int]:
    return {s.key: s.count for s in statistics.statuses}


def test_statistics_count_participants_by_status(population: dict[str, Participant]) -> None:
    statistics = consent_statistics()

    assert statistics.participants == 6
    assert _status(statistics) == {
        "active": 3,
        "no_contact": 1,
        "no_access": 0,
        "no_use": 1,
        "suspended": 0,
        "none": 1,
    }
    assert statistics.on_older_versions == 0


def test_statistics_count_answers_per_choice_merging_languages(
    population: dict[str, Participant],
) -> None:
    (group,) = consent_statistics().versions

    assert (group.document, group.number, group.languages, group.participants) == (
        "Main study consent",
        1,
        ("cy", "en"),
        3,
    )
    counts = {c.key: (c.yes, c.no, c.ask, c.offers_ask) for c in group.choices}
    assert counts == {
        "general": (2, 1, 0, False),
        "health": (3, 0, 0, False),
        "ancestry": (2, 0, 1, True),
        "commercial": (2, 1, 0, True),
        "abroad": (3, 0, 0, False),
        "recontact": (3, 0, 0, False),
    }
    assert [c.key for c in group.choices] == [c["key"] for c in CHOICES]
    assert group.choices[0].question == "May your data be used for any research?"


def test_statistics_count_withdrawals_per_month_and_level(
    population: dict[str, Participant],
) -> None:
    today = timezone.localdate()
    in_two_months = (today.replace(day=1) + dt.timedelta(days=62)).replace(day=15)

    now = consent_statistics().withdrawals
    later = consent_statistics(today=in_two_months).withdrawals

    assert len(now) == 12
    assert now[-1].month == today.replace(day=1)
    assert [(level.value, n) for level, n in now[-1].counts] == [
        ("no_contact", 1),
        ("no_access", 0),
        ("no_use", 1),
    ]
    assert sum(m.total for m in now[:-1]) == 0
    assert later[-3].month == today.replace(day=1)
    assert later[-3].total == 2
    assert later[-1].total == 0
    assert consent_statistics(today=today.replace(year=today.year + 2)).withdrawals_total == 0


def test_statistics_count_suspended_and_older_versions(
    steward: User, version: ConsentVersion, population: dict[str, Participant]
) -> None:
    changed = [{**c, "allowed_answers": ["yes", "no", "ask"]} for c in CHOICES]
    consent_version_publish(
        actor=steward,
        version=make_version(steward, number=2, document=version.document, choices=changed),
        suspends_previous=True,
    )

    statistics = consent_statistics()

    # P1 and P2 (active on the English version 1); P3 and P4 withdrew, so are not counted.
    assert _status(statistics)["suspended"] == 2
    assert statistics.on_older_versions == 2
    groups = {(g.number, g.languages): g.participants for g in statistics.versions}
    assert groups == {(1, ("cy",)): 1, (2, ("en",)): 0}


def test_statistics_take_four_queries(
    population: dict[str, Participant], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(4):
        consent_statistics()


def test_statistics_of_an_empty_portal(db: None) -> None:
    statistics = consent_statistics()

    assert statistics.participants == 0
    assert statistics.versions == ()
    assert statistics.withdrawals_total == 0


def test_overview_page_shows_counts_chart_and_data_table(
    population: dict[str, Participant], steward: User, sign_in: Any
) -> None:
    response = sign_in(steward).get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Consent overview</h1>" in page
    assert "<dt>Not yet consented</dt><dd>1</dd>" in page
    assert "<dt>Withdrawn: no further use</dt><dd>1</dd>" in page
    assert "Main study consent, version 1 (cy, en): 3 participants" in page
    assert (
        '<tr><th scope="row">May your data be used for ancestry research? '
        '<span class="meta">(ancestry)</span></th><td class="num">2</td><td class="num">0</td>'
        '<td class="num">1</td></tr>'
    ) in page
    assert '<svg viewBox="0 0 720 260" aria-hidden="true"' in page
    assert page.count('<rect class="bar-contact"') == 1
    assert page.count('<rect class="bar-use"') == 1
    assert "1 no further contact</title>" in page
    month = timezone.localdate().strftime("%B %Y")
    assert f'<tr><th scope="row">{month}</th><td>1</td><td>0</td><td>1</td><td>2</td></tr>' in page
    assert "<script" not in page.split("<main", 1)[1]


def test_overview_page_without_withdrawals_draws_no_chart(
    version: ConsentVersion, steward: User, sign_in: Any
) -> None:
    page = sign_in(steward).get(URL).content.decode()

    assert "No participant withdrew in the last 12 months." in page
    assert "<svg" not in page


def test_overview_is_in_the_stewards_navigation(steward: User, sign_in: Any) -> None:
    page = sign_in(steward).get("/consent/participants/").content.decode()

    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    assert '<a href="/consent/overview/">Consent</a>' in nav


def test_overview_anonymous_is_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={URL}"


@pytest.mark.parametrize("persona", ["outsider", "participant"])
def test_overview_refuses_non_stewards(
    persona: str, request: pytest.FixtureRequest, sign_in: Any
) -> None:
    response = sign_in(request.getfixturevalue(persona)).get(URL)

    assert response.status_code == 403
    assert "This page is for data stewards." in response.content.decode()
