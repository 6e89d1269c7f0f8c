"""Stewards see beacon query volumes per asker over the last 30 days."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from portal.models import User
from tests.access.beacon_support import BeaconWorld, ask, sequence
from tests.conftest import signed_in_client

URL = "/access/steward/beacon/"


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)]
        for row in rows
        if "<td>" in row
    ]


def test_steward_sees_query_volumes_per_asker(
    beacon_world: BeaconWorld, researcher: User, steward: User, settings: Any
) -> None:
    settings.BEACON_RARE_FREQUENCY = 0.15  # in this ten-sample file a singleton is rare
    signed_in = signed_in_client(researcher)
    for _ in range(3):
        ask(signed_in, sequence(2000, "C", "T"))  # one carrier: rare
    ask(signed_in, {"assemblyId": "GRCh99"})  # refused
    ask(Client(REMOTE_ADDR="192.0.2.4"), sequence(5000, "A", "T"))

    html = signed_in_client(steward).get(URL).content.decode()

    assert "<caption>2 askers</caption>" in html
    researcher_row, anonymous_row = _cells(html)
    assert researcher_row[:5] == ["researcher@example.org", "4", "3", "1", "0"]
    assert anonymous_row[0].startswith("anonymous ip:")
    assert anonymous_row[1:5] == ["1", "0", "0", "0"]
    assert "192.0.2.4" not in html


def test_no_queries_yet(steward: User) -> None:
    html = signed_in_client(steward).get(URL).content.decode()

    assert "No beacon query in the last 30 days." in html


def test_others_are_refused(outsider: User, dac_member: User) -> None:
    assert signed_in_client(outsider).get(URL).status_code == 403
    assert signed_in_client(dac_member).get(URL).status_code == 403
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/account/sign-in/")
