"""A released dataset with a beacon index: the cohort's samples (S000-S005 consent to
everything, S006-S007 refuse research), an unlinked sample U000 and a community's sample
C000 (its participant consents to everything), in one VCF.gz with one allele per situation.

Beacon coordinates are 0-based: the allele at VCF POS 2000 is asked for with start=1999.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam
import pytest
from django.test import Client
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from consent.models import ConsentVersion
from datasets import synthetic
from datasets.models import Committee, DataFile, VariantIndex, VariantIndexStatus
from datasets.services import variant_indexes_start
from datasets.tasks import build_variant_index_task
from portal.models import User
from tests.access.beacon_data import SAMPLES, vcf_text
from tests.access.conftest import Cohort, link_sample, participant_with
from tests.access.delivery_support import add_file
from tests.consent.conftest import ALL_YES

SCHEMAS = Path(__file__).parent / "data" / "beacon-v2"
URL = "/ga4gh/beacon/v2"


@pytest.fixture(scope="session")
def beacon_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = synthetic.bgzip_text(tmp_path_factory.mktemp("beacon") / "beacon.vcf.gz", vcf_text())
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


@dataclass
class BeaconWorld:
    cohort: Cohort
    community: Committee
    file: DataFile
    index: VariantIndex


def build_index(steward: User, file: DataFile) -> VariantIndex:
    file.reference_genome = "GRCh38"
    file.contigs = [{"name": n, "length": length} for n, length in synthetic.GRCH38_CONTIGS]
    file.save(update_fields=["reference_genome", "contigs"])
    (index,) = variant_indexes_start(actor=steward, dataset=file.dataset)
    # Outside a test transaction the task queued on commit (eager here) has built it already,
    # and this rerun does nothing: what counts is the index's state.
    build_variant_index_task(index.pk)
    index.refresh_from_db()
    assert index.status == VariantIndexStatus.READY, index.message
    return index


def fresh_redis_cache(settings: Any, name: str = "beacon") -> None:
    """The real Redis as the cache, under a prefix of this test's own: budgets start at 0."""
    prefix = f"test-{name}-{uuid.uuid4().hex}"
    settings.CACHES = {
        alias: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"{prefix}-{alias}",
        }
        for alias in settings.CACHES
    }


@pytest.fixture
def beacon_world(
    cohort: Cohort,
    steward: User,
    community: Committee,
    consent_version: ConsentVersion,
    data_root: Path,
    beacon_vcf: Path,
    settings: Any,
) -> BeaconWorld:
    fresh_redis_cache(settings)
    dataset = cohort.dataset
    link_sample(dataset, None, "U000")
    link_sample(dataset, participant_with(consent_version, ALL_YES), "C000", community)
    file = add_file(dataset, steward, data_root, beacon_vcf, "calls/beacon.vcf.gz", list(SAMPLES))
    return BeaconWorld(cohort, community, file, build_index(steward, file))


def sequence(pos: int, ref: str, alt: str, **extra: Any) -> dict[str, Any]:
    """GET parameters of a sequence query for the allele at VCF POS `pos`."""
    return {
        "assemblyId": "GRCh38",
        "referenceName": "1",
        "start": pos - 1,
        "referenceBases": ref,
        "alternateBases": alt,
        **extra,
    }


def ask(client: Client, params: dict[str, Any], **headers: Any) -> Any:
    return client.get(f"{URL}/g_variants", params, **headers)


# --- the Beacon v2 framework's schemas, with a local $ref resolver --------------------------------


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append(
            (
                path.resolve().as_uri(),
                Resource.from_contents(contents, default_specification=DRAFT202012),
            )
        )
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(document: Any, schema: str) -> None:
    """Raise jsonschema.ValidationError unless `document` is valid against SCHEMAS/schema
    (`file.json#/$defs/Name` for one definition of a file)."""
    name, _, fragment = schema.partition("#")
    path = (SCHEMAS / name).resolve()
    if fragment:
        reference = {"$ref": f"{path.as_uri()}#{fragment}"}
        Draft202012Validator(reference, registry=REGISTRY).validate(document)
        return
    contents = json.loads(path.read_text(encoding="utf-8"))
    contents = {**contents, "$id": path.as_uri()}
    Draft202012Validator(contents, registry=REGISTRY).validate(document)


def valid_errors(document: Any, schema: str) -> list[str]:
    path = (SCHEMAS / schema).resolve()
    contents = {**json.loads(path.read_text(encoding="utf-8")), "$id": path.as_uri()}
    return [
        e.message for e in Draft202012Validator(contents, registry=REGISTRY).iter_errors(document)
    ]
