"""DRS service-info: GA4GH service-info naming DRS 1.2.0, with the bulk limit (DRS 1.4's
maxBulkRequestLength); public, like the JWKS."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.access.drs_support import DRS, schema_errors
from tests.access.visa_support import site  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]


def test_service_info_names_drs_1_2_and_the_bulk_limit(settings: Any) -> None:
    settings.CUSTODIAN_DRS_BULK_LIMIT = 25

    response = Client().get(f"{DRS}/service-info")

    assert response.status_code == 200
    body = response.json()
    assert schema_errors(body, "1.2.0", "schemas/DrsService.yaml") == []
    assert schema_errors(body, "1.4.0", "schemas/DrsService.yaml") == []
    # What GA4GH service-info 1.0 requires (its schema is not vendored: written out here).
    assert body["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.2.0"}
    assert body["id"] == "testserver.custodian.drs"
    assert body["organization"] == {"name": "Custodian", "url": "https://custodian.example"}
    assert (body["name"], body["version"]) == ("Custodian DRS", "1.0.0")
    assert body["maxBulkRequestLength"] == 25


def test_service_info_refuses_a_post_in_drs_error_shape() -> None:
    response = Client().post(f"{DRS}/service-info")

    assert response.status_code == 405
    assert response.json() == {"msg": 'Method "POST" not allowed.', "status_code": 405}
