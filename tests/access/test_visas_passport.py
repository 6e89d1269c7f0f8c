"""A researcher's passport: one ControlledAccessGrants visa per active grant, one
AcceptedTermsAndPolicies visa per accepted agreement; every visa verified with PyJWT against
the served JWKS; revoked and ended grants give none."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from access.models import AccessRequest, AgreementAcceptance, Grant
from access.services import grants_revoke
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import Cohort
from tests.access.visa_support import (  # noqa: F401 - fixture
    SITE,
    passport_of,
    site,
    verify_with_jwks,
    visas_by_type,
)

LONDON = ZoneInfo("Europe/London")

pytestmark = pytest.mark.usefixtures("site")


def test_grant_visa_names_dataset_committee_and_approval(
    approved_request: AccessRequest, researcher: User, cohort: Cohort, dac: Committee
) -> None:
    grant = Grant.objects.get(request=approved_request, grantee=researcher)
    decided_at = grant.review.decided_at
    before = int(timezone.now().timestamp())

    visas = visas_by_type(researcher)

    [claims] = visas["ControlledAccessGrants"]
    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "value": f"https://custodian.example/datasets/{cohort.dataset.accession}/",
        "source": f"https://custodian.example/ga4gh/dacs/{dac.pk}",
        "by": "dac",
        "asserted": int(decided_at.timestamp()),
    }
    assert claims["iss"] == "https://custodian.example"
    assert claims["sub"] == str(researcher.pk)
    assert before <= claims["iat"] <= before + 60
    # One hour by default, well before the grant's end a year ahead.
    assert claims["exp"] == claims["iat"] + 3600
    assert len(claims["jti"]) == 36


def test_grant_visa_expires_no_later_than_the_grant(
    approved_request: AccessRequest, researcher: User, settings: Any
) -> None:
    settings.CUSTODIAN_VISA_MAX_SECONDS = 7 * 86400
    today = timezone.localdate()
    Grant.objects.filter(grantee=researcher).update(ends_on=today)
    # The last day is inclusive: the grant ends at midnight after it, portal time (London).
    grant_end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=LONDON)

    [claims] = visas_by_type(researcher)["ControlledAccessGrants"]

    assert claims["exp"] == int(grant_end.timestamp())
    assert claims["exp"] < claims["iat"] + 7 * 86400


def test_agreement_visa_per_accepted_agreement(
    approved_request: AccessRequest, researcher: User, dac: Committee, agreement: Any
) -> None:
    accepted_at = AgreementAcceptance.objects.get(user=researcher, agreement=agreement).accepted_at

    [claims] = visas_by_type(researcher)["AcceptedTermsAndPolicies"]

    assert claims["ga4gh_visa_v1"] == {
        "type": "AcceptedTermsAndPolicies",
        "value": f"https://custodian.example/ga4gh/agreements/{agreement.pk}",
        "source": f"https://custodian.example/ga4gh/dacs/{dac.pk}",
        "by": "self",
        "asserted": int(accepted_at.timestamp()),
    }
    assert claims["exp"] == claims["iat"] + 3600


def test_visa_urls_resolve_to_public_documents(
    approved_request: AccessRequest, researcher: User, client: Any, agreement: Any
) -> None:
    visas = visas_by_type(researcher)
    grant_visa = visas["ControlledAccessGrants"][0]["ga4gh_visa_v1"]
    terms_visa = visas["AcceptedTermsAndPolicies"][0]["ga4gh_visa_v1"]

    dac = client.get(grant_visa["source"].removeprefix(SITE))
    text = client.get(terms_visa["value"].removeprefix(SITE))
    dataset = client.get(grant_visa["value"].removeprefix(SITE))

    assert dac.status_code == 200
    assert dac.json()["name"] == "Test DAC"
    assert text.status_code == 200
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert "We will keep the data secure" in text.content.decode()
    assert dataset.status_code == 200


def test_revoked_grant_gives_no_visa(
    approved_request: AccessRequest, researcher: User, dac_chair: User, dac: Committee
) -> None:
    assert len(visas_by_type(researcher)["ControlledAccessGrants"]) == 1

    grants_revoke(actor=dac_chair, request=approved_request, committee=dac, reason="Misuse.")

    visas = visas_by_type(researcher)
    assert "ControlledAccessGrants" not in visas
    # Having accepted the agreement stays true.
    assert len(visas["AcceptedTermsAndPolicies"]) == 1


def test_ended_grant_gives_no_visa(approved_request: AccessRequest, researcher: User) -> None:
    today = timezone.localdate()
    Grant.objects.filter(grantee=researcher).update(
        starts_on=today - dt.timedelta(days=30), ends_on=today - dt.timedelta(days=1)
    )

    assert "ControlledAccessGrants" not in visas_by_type(researcher)


def test_grant_not_started_gives_no_visa(approved_request: AccessRequest, researcher: User) -> None:
    today = timezone.localdate()
    Grant.objects.filter(grantee=researcher).update(
        starts_on=today + dt.timedelta(days=1), ends_on=today + dt.timedelta(days=30)
    )

    assert "ControlledAccessGrants" not in visas_by_type(researcher)


def test_disabled_account_has_an_empty_passport_for_stewards(
    approved_request: AccessRequest, researcher: User, steward: User
) -> None:
    from tests.access.visa_support import bearer_client

    User.objects.filter(pk=researcher.pk).update(is_active=False)

    response = bearer_client(steward).get(f"/ga4gh/passport/v1/users/{researcher.pk}/visas")

    assert response.status_code == 200
    assert response.json() == {"ga4gh_passport_v1": []}


def test_steward_and_committee_member_see_a_researchers_visas(
    approved_request: AccessRequest, researcher: User, steward: User, dac_member: User
) -> None:
    from tests.access.visa_support import bearer_client

    for viewer in (steward, dac_member):
        response = bearer_client(viewer).get(f"/ga4gh/passport/v1/users/{researcher.pk}/visas")
        assert response.status_code == 200
        types = sorted(
            verify_with_jwks(t)["ga4gh_visa_v1"]["type"]
            for t in response.json()["ga4gh_passport_v1"]
        )
        assert types == ["AcceptedTermsAndPolicies", "ControlledAccessGrants"]
        assert {verify_with_jwks(t)["sub"] for t in response.json()["ga4gh_passport_v1"]} == {
            str(researcher.pk)
        }


def test_someone_without_grants_or_agreements_has_an_empty_passport(outsider: User) -> None:
    assert passport_of(outsider) == []


def test_session_sign_in_gets_the_same_passport(
    approved_request: AccessRequest, researcher: User, sign_in: Any
) -> None:
    response = sign_in(researcher).get("/ga4gh/passport/v1/visas")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    types = sorted(
        verify_with_jwks(t)["ga4gh_visa_v1"]["type"] for t in response.json()["ga4gh_passport_v1"]
    )
    assert types == ["AcceptedTermsAndPolicies", "ControlledAccessGrants"]


def test_the_visas_of_a_person_take_three_queries_however_many_grants(
    approved_request: AccessRequest,
    researcher: User,
    steward: User,
    dac: Committee,
    django_assert_num_queries: Any,
) -> None:
    from access.selectors.visas import visas_of
    from tests.access.conftest import released_dataset

    grant = Grant.objects.get(grantee=researcher)
    for n in range(3):
        Grant.objects.create(
            request=approved_request,
            review=grant.review,
            dataset=released_dataset(steward, dac, title=f"More data {n}"),
            grantee=researcher,
            starts_on=grant.starts_on,
            ends_on=grant.ends_on,
        )
    researcher.refresh_from_db()

    with django_assert_num_queries(3):
        contents = visas_of(researcher)

    assert [c.type for c in contents] == ["ControlledAccessGrants"] * 4 + [
        "AcceptedTermsAndPolicies"
    ]
