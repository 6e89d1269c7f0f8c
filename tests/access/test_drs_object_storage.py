"""DRS with deliveries from an S3-compatible bucket (CUSTODIAN_STORAGE=s3, moto's server
started here): the access URL is the presigned URL of the served file in the bucket, and
fetching it gives the file's bytes. (moto checks no signature: what is tested is the URL
handed out.)"""

from __future__ import annotations

import hashlib
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from portal.models import User
from tests.access.delivery_support import World
from tests.access.drs_support import DRS, drs_client, schema_errors, source_id
from tests.access.test_delivery_object_storage import (  # noqa: F401 - fixtures
    PREFIX,
    Bucket,
    bucket,
    s3_endpoint,
)


def test_the_access_url_is_the_bucket_s_presigned_url(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https"

    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(url)
    found = client.get(url)

    assert first.status_code == 202
    assert found.status_code == 200
    body = found.json()
    assert schema_errors(body, "1.2.0", "schemas/AccessURL.yaml") == []
    parts = urlsplit(body["url"])
    assert f"{parts.scheme}://{parts.netloc}" == bucket.endpoint
    assert parts.path.startswith(f"/{bucket.name}/{PREFIX}/")
    assert "X-Amz-Signature=" in parts.query
    with urllib.request.urlopen(body["url"], timeout=30) as response:  # noqa: S310
        content = response.read()
    assert hashlib.sha256(content).hexdigest() == delivery_world.bam_s000.sha256
