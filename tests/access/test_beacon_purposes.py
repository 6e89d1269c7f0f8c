"""Which purpose a signed-in beacon query is answered for: the declared one (the latest request
naming a primary use) and each grant in force, read in one prepared query; and an edited
purpose is applied at once (the compiled consent filter is keyed by the purpose itself)."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from access.models import AccessRequest, Grant
from access.selectors.beacon import CONTROLLED, PUBLIC, REGISTERED, scopes_for
from access.services import access_request_update
from consent.models import ConsentVersion, CurrentConsent
from portal.models import Role, User
from tests.access.beacon_support import BeaconWorld, ask, sequence
from tests.access.conftest import Cohort, complete_draft
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES, give


def test_the_declared_purpose_is_the_latest_request_naming_a_primary_use(
    cohort: Cohort, researcher: User
) -> None:
    assert scopes_for(researcher).default.tier == PUBLIC
    first = complete_draft(researcher, cohort.dataset)
    complete_draft(researcher, cohort.dataset, primary_use="")  # newer, but no purpose
    colleague = User.objects.create_user(
        "colleague@lab.example", None, full_name="A Colleague", roles=[Role.RESEARCHER]
    )
    complete_draft(colleague, cohort.dataset, primary_use="GRU")  # newer, someone else's

    scopes = scopes_for(researcher)

    assert scopes.default.tier == REGISTERED
    assert scopes.default.request is not None
    assert scopes.default.request.pk == first.pk
    assert scopes.default.request.applicant == researcher
    assert scopes.default.request.countries == first.countries  # JSON read as the ORM does
    latest = complete_draft(researcher, cohort.dataset, primary_use="GRU")
    assert scopes_for(researcher).default.request.pk == latest.pk  # type: ignore[union-attr]
    assert scopes.controlled == {}


def test_only_grants_in_force_today_raise_a_dataset_to_the_controlled_tier(
    cohort: Cohort, approved_request: AccessRequest, researcher: User
) -> None:
    grant = Grant.objects.get(request=approved_request, grantee=researcher)
    today = timezone.localdate()
    day = dt.timedelta(days=1)

    def controlled() -> dict[int, tuple[str, int]]:
        found = scopes_for(researcher).controlled
        return {k: (v.tier, v.request.pk) for k, v in found.items()}  # type: ignore[union-attr]

    in_force = {cohort.dataset.pk: (CONTROLLED, approved_request.pk)}
    assert controlled() == in_force
    Grant.objects.filter(pk=grant.pk).update(starts_on=today + day)
    assert controlled() == {}
    Grant.objects.filter(pk=grant.pk).update(starts_on=today, ends_on=today)
    assert controlled() == in_force  # its last day
    Grant.objects.filter(pk=grant.pk).update(starts_on=today - 2 * day, ends_on=today - day)
    assert controlled() == {}
    Grant.objects.filter(pk=grant.pk).update(ends_on=today + day, revoked_at=timezone.now())
    assert controlled() == {}


def test_an_edited_purpose_is_applied_to_the_next_query(
    beacon_world: BeaconWorld, researcher: User, consent_version: ConsentVersion
) -> None:
    # S001 and S002 (the carriers at 6000) refuse commercial use.
    for person in beacon_world.cohort.consenting[1:3]:
        current = CurrentConsent.objects.get(participant=person)
        give(person, consent_version, {**ALL_YES, "commercial": "no"}, sequence=current.sequence)
    request = complete_draft(researcher, beacon_world.cohort.dataset)
    client = signed_in_client(researcher)
    params = sequence(6000, "C", "G")
    assert ask(client, params).json()["responseSummary"]["exists"] is True

    access_request_update(actor=researcher, request=request, commercial=True)

    assert ask(client, params).json()["responseSummary"]["exists"] is False
    access_request_update(actor=researcher, request=request, commercial=False)
    assert ask(client, params).json()["responseSummary"]["exists"] is True
    assert ask(Client(), params).json()["responseSummary"]["exists"] is True
