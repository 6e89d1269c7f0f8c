"""What the DRS tests share: the published DRS OpenAPI schemas (vendored in tests/access/data,
$refs resolved from the files themselves), clients with personal API tokens, and a dataset
holding a VCF some of whose participants refuse research use.

Object ids are written out in the tests: `<dataset accession>-<data file id>` for a file and
`<that>.<first 16 hex digits of SHA-256 of the sorted, newline-joined sample ids>` for a
consent-filtered copy.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.test import APIClient

from datasets.models import DataFile
from portal.models import ApiTokenScope, User
from tests.access.delivery_support import MIXED_VCF_SAMPLES, Sources, World, add_file
from tests.factories import api_token_for

DATA = Path(__file__).resolve().parent / "data"
DRS = "/ga4gh/drs/v1"
# The six consenting samples of the cohort, as a filtered copy of the mixed VCF names them.
SIX_HASH = hashlib.sha256(b"S000\nS001\nS002\nS003\nS004\nS005").hexdigest()[:16]


def _retrieve(uri: str) -> Resource:
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(
        yaml.safe_load(path.read_text()), default_specification=DRAFT202012
    )


@cache
def _registry() -> Registry:
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def schema_errors(instance: Any, version: str, component: str) -> list[str]:
    """Every way `instance` breaks a schema of the vendored spec, e.g. ("1.2.0",
    "schemas/DrsObject.yaml") or ("1.4.0", "responses/200OkDrsObjects.yaml"): for a response,
    its application/json schema."""
    path = DATA / f"drs-{version}" / "openapi" / "components" / component
    uri = path.as_uri()
    pointer = "#/content/application~1json/schema" if component.startswith("responses/") else ""
    validator = Draft202012Validator({"$ref": uri + pointer}, registry=_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def drs_client(user: User, scope: str = ApiTokenScope.DOWNLOAD) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user, scope)}")
    return client


def source_id(datafile: DataFile) -> str:
    return f"{datafile.dataset.accession}-{datafile.pk}"


def add_mixed_vcf(world: World, steward: User, sources: Sources) -> DataFile:
    """A VCF with S006 and S007, whose participants refuse research use: delivered as a
    consent-filtered copy holding S000-S005."""
    return add_file(
        world.cohort.dataset,
        steward,
        world.root,
        sources.vcf_mixed,
        "calls/mixed.vcf.gz",
        list(MIXED_VCF_SAMPLES),
    )
