"""The published membership-inference attack on beacons, replayed against a demo beacon.

Shringarpure & Bustamante (2015): an attacker who holds the target's genome asks whether the
beacon has each allele the target carries, and adds up a likelihood ratio: under "the target
is not in the beacon" a "yes" about an allele of population frequency f comes with
probability 1 - (1 - f)^(2N), under "the target is in it" almost always. Raisaro et al.
(2017) sharpened it by asking about the rarest alleles first. Here the attacker knows the
population frequencies the demo cohort was drawn from (at least 0.5%), asks anonymously,
rarest first, and stops at 95% confidence (posterior with even prior odds) or when refused.

The budget stops it: three answers about rare alleles a day are worth at most ~3 nats to the
attacker here, and 95% needs ln 19 = 2.94. The same attack with the budget lifted reaches
95%, which shows the demo beacon does leak without it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam
import pytest
from django.test import Client

from consent.models import ConsentVersion
from datasets import synthetic
from portal.models import User
from tests.access.beacon_support import ask, build_index, fresh_redis_cache, sequence
from tests.access.conftest import link_sample, participant_with, released_dataset
from tests.access.delivery_support import add_file
from tests.consent.conftest import ALL_YES

MEMBERS = 40
SITES = 1000
LOWEST_FREQUENCY = 0.005
SEQUENCING_ERROR = 1e-6  # the paper's delta
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Site:
    position: int
    ref: str
    alt: str
    frequency: float  # in the population the cohort was drawn from
    genotypes: tuple[int, ...]  # alternate alleles per member


def _population(seed: int = 1) -> list[Site]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    sites = []
    for n in range(SITES):
        f = math.exp(rng.uniform(math.log(LOWEST_FREQUENCY), math.log(0.5)))
        genotypes = tuple((rng.random() < f) + (rng.random() < f) for _ in range(MEMBERS))
        if any(genotypes):
            ref, alt = rng.sample("ACGT", 2)
            sites.append(Site(1000 + 10 * n, ref, alt, f, genotypes))
    return sites


def _vcf(sites: list[Site], names: list[str]) -> str:
    calls = {0: "0/0", 1: "0/1", 2: "1/1"}
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=248956422>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names),
    ]
    body = [
        f"chr1\t{s.position}\t.\t{s.ref}\t{s.alt}\t.\tPASS\t.\tGT\t"
        + "\t".join(calls[g] for g in s.genotypes)
        for s in sites
    ]
    return "\n".join(header + body) + "\n"


@pytest.fixture
def demo_beacon(
    steward: User,
    dac: Any,
    consent_version: ConsentVersion,
    data_root: Path,
    tmp_path: Path,
) -> list[Site]:
    sites = _population()
    names = [f"D{n:03d}" for n in range(MEMBERS)]
    dataset = released_dataset(steward, dac, title="Demo beacon cohort")
    for name in names:
        link_sample(dataset, participant_with(consent_version, ALL_YES), name)
    path = synthetic.bgzip_text(tmp_path / "demo.vcf.gz", _vcf(sites, names))
    pysam.tabix_index(str(path), preset="vcf", force=True)
    build_index(steward, add_file(dataset, steward, data_root, path, "demo.vcf.gz", names))
    return sites


@pytest.fixture(autouse=True)
def redis_cache(settings: Any) -> None:
    fresh_redis_cache(settings, "beacon-attack")


@dataclass
class Outcome:
    confidence: float
    answered: int
    refused: bool


def _attack(sites: list[Site], target: int) -> Outcome:
    """The attacker's loop, through the public API, rarest allele of the target first."""
    client = Client(REMOTE_ADDR="203.0.113.7")
    log_ratio, answered = 0.0, 0
    for site in sorted((s for s in sites if s.genotypes[target]), key=lambda s: s.frequency):
        response = ask(client, sequence(site.position, site.ref, site.alt))
        if response.status_code == 429:
            return Outcome(1 / (1 + math.exp(-log_ratio)), answered, refused=True)
        assert response.status_code == 200, response.content
        answered += 1
        absent = (1 - site.frequency) ** (2 * MEMBERS)  # nobody else carries it
        absent_but_target = (1 - site.frequency) ** (2 * (MEMBERS - 1))
        if response.json()["responseSummary"]["exists"]:
            log_ratio += math.log((1 - SEQUENCING_ERROR * absent_but_target) / (1 - absent))
        else:
            log_ratio += math.log(SEQUENCING_ERROR * absent_but_target / absent)
        if 1 / (1 + math.exp(-log_ratio)) >= CONFIDENCE:
            break
    return Outcome(1 / (1 + math.exp(-log_ratio)), answered, refused=False)


def test_the_budget_stops_the_attack_short_of_95_percent(demo_beacon: list[Site]) -> None:
    outcome = _attack(demo_beacon, target=0)

    assert outcome.refused
    assert outcome.answered == 3  # three rare alleles, then 429
    assert outcome.confidence < CONFIDENCE


def test_without_the_budget_the_same_attack_succeeds(
    demo_beacon: list[Site], settings: Any
) -> None:
    settings.BEACON_ANONYMOUS_DAILY_BUDGET = 10**6

    outcome = _attack(demo_beacon, target=0)

    assert not outcome.refused
    assert outcome.confidence >= CONFIDENCE
