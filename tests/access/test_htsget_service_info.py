"""htsget service-info for reads and variants: public, GA4GH service-info with htsget's
own block (datatype, formats)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("endpoint", "formats"), [("reads", ["BAM", "CRAM"]), ("variants", ["VCF", "BCF"])]
)
def test_service_info_describes_each_endpoint(endpoint: str, formats: list[str]) -> None:
    response = APIClient().get(f"/ga4gh/htsget/v1/{endpoint}/service-info")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == f"testserver.custodian.htsget.{endpoint}"
    assert body["type"] == {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"}
    assert body["htsget"] == {
        "datatype": endpoint,
        "formats": formats,
        "fieldsParametersEffective": False,
        "tagsParametersEffective": False,
    }
    assert body["organization"]["name"] == "Custodian"
