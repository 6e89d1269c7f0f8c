"""Staff sessions (DAC members, chairs, stewards) end after 30 minutes idle and 12 hours in all;
a participant's after the configured idle time. The session's own clock marks are moved back
(what a half-hour away from the keyboard leaves in it): no sleeping, no fake clock."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from portal.middleware import SESSION_SEEN, SESSION_STARTED
from portal.models import User
from tests.conftest import signed_in_client


def _age(client: Client, *, seen: int | None = None, started: int | None = None) -> None:
    """Move the session's marks `seen` / `started` seconds into the past."""
    client.get("/account/")  # the marks are set by a first request after sign-in
    session = client.session
    now = int(time.time())
    if seen is not None:
        session[SESSION_SEEN] = now - seen
    if started is not None:
        session[SESSION_STARTED] = now - started
    session.save()


def _signed_out(response: Any, client: Client, message: str) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert message in page


def test_session_timeouts_staff_idle_for_31_minutes_is_signed_out(steward: User) -> None:
    client = signed_in_client(steward)
    _age(client, seen=31 * 60)

    response = client.get("/datasets/steward/")

    _signed_out(response, client, "You were signed out after 30 minutes without activity.")


def test_session_timeouts_staff_idle_for_29_minutes_stays(steward: User) -> None:
    client = signed_in_client(steward)
    _age(client, seen=29 * 60)

    assert client.get("/datasets/steward/").status_code == 200


def test_session_timeouts_staff_session_ends_after_12_hours_however_active(
    dac_member: User,
) -> None:
    client = signed_in_client(dac_member)
    _age(client, seen=10, started=12 * 3600 + 60)

    response = client.get("/access/dac/")

    _signed_out(response, client, "committee and steward sessions last at most 12 hours")


def test_session_timeouts_participant_keeps_the_configured_idle_time(
    participant: User, settings: Any
) -> None:
    settings.CUSTODIAN_SESSION_IDLE_SECONDS = 2 * 3600
    client = signed_in_client(participant)
    _age(client, seen=31 * 60, started=13 * 3600)

    assert client.get("/consent/").status_code == 200

    _age(client, seen=2 * 3600 + 60)
    _signed_out(
        client.get("/consent/"), client, "You were signed out after 120 minutes without activity."
    )


def test_session_timeouts_are_configurable(steward: User, settings: Any) -> None:
    settings.CUSTODIAN_STAFF_IDLE_SECONDS = 10 * 60
    client = signed_in_client(steward)
    _age(client, seen=11 * 60)

    _signed_out(
        client.get("/datasets/steward/"),
        client,
        "You were signed out after 10 minutes without activity.",
    )


def test_session_timeouts_an_ended_session_is_anonymous_to_the_api(steward: User) -> None:
    client = signed_in_client(steward)
    _age(client, seen=31 * 60)

    response = client.get("/api/v1/me/")

    assert response.status_code in {401, 403}
    assert "_auth_user_id" not in client.session
