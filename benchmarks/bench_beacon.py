"""Beacon v2 on PostgreSQL: consent-aware answers at 2,504 samples, and the index build.

(a) The 1,000,000-participant consent projection of bench_consent; 2,504 samples linked to
    random participants; a variant index of 1,000,000 alleles (200,000 with BENCH_QUICK=1)
    whose carriers follow a neutral site-frequency spectrum (most alleles rare, a few
    common), about 28 per kb as in the 1000 Genomes calls, loaded with COPY. Sequence
    queries answered by `beacon_answer` (index lookup + consent filter) at the public tier
    (anonymous) and the registered tier (an HMB, GB request's purpose), against a bare
    indexed lookup of the same allele through the ORM in the same run, and against the
    beacon's own prepared lookup alone (each allele asked of every variant in turn, in
    rotating order); the same public query
    through the whole view (budget in the cache, audit entry, JSON); a 1 Mb range query.
(b) Building the index of a 2,504-sample VCF.gz (20,000 sites; 5,000 quick) with the same
    spectrum through `variant_index_build`, against Debian's `bcftools view -H | wc -l`.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
QUICK = bool(os.environ.get("BENCH_QUICK"))
SAMPLES = 2504
VARIANTS = 200_000 if QUICK else 1_000_000
BUILD_SITES = 5_000 if QUICK else 20_000
QUERIES = 300
PER_KB = 28
TARGET_P99_MS = 50
TARGET_RATIO = 3

import bench_consent  # noqa: E402 - sets the database environment first

# BENCH_BEACON_DB=<name>: query a database an earlier run kept (BENCH_KEEP=1) instead of
# building one (its 1,000,000 participants and alleles take most of an hour on a busy machine).
REUSE = os.environ.get("BENCH_BEACON_DB", "")
if REUSE:
    os.environ["DATABASE_URL"] = f"{bench_consent.PG}/{REUSE}"

rng = random.Random(11)  # noqa: S311 - reproducible benchmark data


def carriers() -> list[int]:
    """Sample columns carrying an allele whose frequency is drawn from density ~ 1/f."""
    f = math.exp(rng.uniform(math.log(1 / (2 * SAMPLES)), math.log(0.5)))
    p = 1 - (1 - f) ** 2
    mean, sd = SAMPLES * p, math.sqrt(SAMPLES * p * (1 - p))
    n = max(1, min(SAMPLES, round(rng.gauss(mean, sd))))
    return rng.sample(range(SAMPLES), n)


def bitmap(columns: list[int]) -> bytes:
    value = 0
    for c in columns:
        value |= 1 << c
    return value.to_bytes((SAMPLES + 7) // 8, "little")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def world(steward: Any) -> dict[str, Any]:
    """A released dataset, its samples and a READY index filled with COPY."""
    from django.db import connection
    from django.utils import timezone

    from consent.models import CurrentConsent
    from datasets.models import (
        Committee,
        DataFile,
        Dataset,
        DatasetStatus,
        LinkStatus,
        Sample,
        VariantIndex,
        VariantIndexStatus,
        accession_for,
    )

    committee = Committee.objects.create(name="Bench DAC", contact_email="dac@bench.test")
    dataset = Dataset.objects.create(
        title="1000 Genomes-like cohort",
        committee=committee,
        created_by=steward,
        status=DatasetStatus.RELEASED,
        released_at=timezone.now(),
        permission="GRU",
    )
    dataset.accession = accession_for(dataset.pk)
    dataset.save(update_fields=["accession"])
    participants = list(CurrentConsent.objects.values_list("participant_id", flat=True))
    names = [f"HG{n:05d}" for n in range(1, SAMPLES + 1)]
    chosen = rng.sample(participants, SAMPLES)
    Sample.objects.bulk_create(
        Sample(dataset=dataset, sample_id=name, participant_id=pid, link=LinkStatus.LINKED)
        for name, pid in zip(names, chosen, strict=True)
    )
    pks = dict(Sample.objects.filter(dataset=dataset).values_list("sample_id", "pk"))
    file = DataFile.objects.create(
        dataset=dataset,
        path="bench/cohort.vcf.gz",
        format="vcf.gz",
        samples=names,
        reference_genome="GRCh38",
        contigs=[{"name": "chr1", "length": 248_956_422}],
        status="valid",
        registered_by=steward,
    )
    index = VariantIndex.objects.create(
        file=file,
        status=VariantIndexStatus.READY,
        assembly="GRCh38",
        sample_pks=[pks[n] for n in names],
        variant_count=VARIANTS,
        built_at=timezone.now(),
    )
    alleles = []
    start = time.perf_counter()
    position = 10_000
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY datasets_variant (index_id, chrom, position, ref, alt, kind, carrier_count, "
            "carriers) FROM STDIN"
        ) as copy:
            for _ in range(VARIANTS):
                position += rng.randint(1, 2 * 1000 // PER_KB)
                ref, alt = rng.sample("ACGT", 2)
                columns = carriers()
                copy.write_row(
                    (index.pk, "1", position, ref, alt, "SNP", len(columns), bitmap(columns))
                )
                alleles.append((position, ref, alt, len(columns)))
        cursor.execute("VACUUM ANALYZE datasets_variant")
        cursor.execute("SELECT pg_total_relation_size('datasets_variant')")
        size = cursor.fetchone()[0]
    return {
        "dataset": dataset,
        "index": index,
        "alleles": alleles,
        "load": time.perf_counter() - start,
        "size": size,
        "span": position,
    }


def kept_world() -> dict[str, Any]:
    """The dataset and READY index `world` made in the kept database."""
    from django.db import connection

    from datasets.models import Variant, VariantIndex

    index = VariantIndex.objects.select_related("file__dataset").get(
        file__path="bench/cohort.vcf.gz"
    )
    alleles = list(
        Variant.objects.filter(index=index)
        .order_by("position")
        .values_list("position", "ref", "alt", "carrier_count")
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('datasets_variant')")
        size = cursor.fetchone()[0]
    return {
        "dataset": index.file.dataset,
        "index": index,
        "alleles": alleles,
        "load": 0.0,
        "size": size,
        "span": alleles[-1][0],
    }


def query_benchmark(steward: Any, built: dict[str, Any]) -> dict[str, Any]:
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client

    from access.beacon import parse_query
    from access.models import AccessRequest
    from access.selectors.beacon import beacon_answer
    from datasets.models import Variant
    from datasets.selectors import VariantScope, variants_at
    from portal.models import Role, User

    researcher = User.objects.filter(email="researcher@bench.test").first()
    if researcher is None:
        researcher = User.objects.create_user(
            "researcher@bench.test", None, full_name="Bench Researcher", roles=[Role.RESEARCHER]
        )
        AccessRequest.objects.create(
            applicant=researcher, title="Bench", primary_use="HMB", countries=["GB"]
        )
    index_id = built["index"].pk
    sample = rng.sample(built["alleles"], QUERIES)

    def params(allele: tuple[int, str, str, int]) -> dict[str, Any]:
        position, ref, alt, _ = allele
        return {
            "assemblyId": "GRCh38",
            "referenceName": "1",
            "start": position - 1,
            "referenceBases": ref,
            "alternateBases": alt,
        }

    def bare(allele: tuple[int, str, str, int]) -> None:
        position, ref, alt, _ = allele
        Variant.objects.filter(
            index_id__in=[index_id], chrom="1", position=position, ref=ref, alt=alt
        ).values_list("pk", "carriers").first()

    def prepared(allele: tuple[int, str, str, int]) -> None:
        position, ref, alt, _ = allele
        variants_at(VariantScope("GRCh38"), chrom="1", position=position, ref=ref, alt=alt)

    def answer(user: Any, granularity: str = "boolean") -> Any:
        def run(allele: tuple[int, str, str, int]) -> None:
            beacon_answer(parse_query(params(allele), granularity=granularity), user)

        return run

    client = Client(REMOTE_ADDR="203.0.113.1", HTTP_HOST="127.0.0.1")

    def view(allele: tuple[int, str, str, int]) -> None:
        response = client.get("/ga4gh/beacon/v2/g_variants", params(allele))
        assert response.status_code == 200, response.content[:300]

    def timed(fns: dict[str, Any]) -> dict[str, list[float]]:
        """Each allele asked of every variant in turn, so all of them see the same moments of a
        shared machine's load; the order rotates, so none always finds the allele's pages
        already read by another."""
        names = list(fns)
        for allele in sample[:20]:
            for name in names:
                fns[name](allele)  # warm up
        times: dict[str, list[float]] = {name: [] for name in names}
        for n, allele in enumerate(sample):
            for name in names[n % len(names) :] + names[: n % len(names)]:
                start = time.perf_counter()
                fns[name](allele)
                times[name].append((time.perf_counter() - start) * 1000)
        return times

    from django.conf import settings

    settings.BEACON_ANONYMOUS_DAILY_BUDGET = 10**9
    from portal.ledger import ledger_seal

    # Counts and ranges cache who may be counted under the state version, which settles once
    # the sealer has passed the newest change: in production the beat seals every 2 s.
    while ledger_seal().sealed:
        pass
    ledger_seal()
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = timed(
        {
            "bare": bare,
            "prepared": prepared,
            "public": answer(AnonymousUser()),
            "registered": answer(researcher),
            "registered_count": answer(researcher, "count"),
            "public_count": answer(AnonymousUser(), "count"),
            "view": view,
        }
    )
    middle = built["span"] // 2
    ranges = []
    found = []
    for offset in range(5):
        start = middle + offset * 1_100_000 - 3_000_000
        query = parse_query(
            {"assemblyId": "GRCh38", "referenceName": "1", "start": start, "end": start + 10**6},
            granularity="count",
        )
        t0 = time.perf_counter()
        result = beacon_answer(query, AnonymousUser())
        ranges.append((time.perf_counter() - t0) * 1000)
        found.append(result.found)
    results["range"] = ranges
    results["range_found"] = statistics.median(found)
    # Other work on a shared machine moves every figure: say how busy it was.
    results["load"] = (load_before, os.getloadavg()[0])
    return results


def vcf_text(sites: int) -> str:
    names = [f"HG{n:05d}" for n in range(1, SAMPLES + 1)]
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=248956422>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names),
    ]
    reference = ["0|0"] * SAMPLES
    position = 10_000
    for _ in range(sites):
        position += rng.randint(1, 70)
        ref, alt = rng.sample("ACGT", 2)
        genotypes = reference.copy()
        for c in carriers():
            genotypes[c] = "0|1" if rng.random() < 0.8 else "1|1"
        lines.append(f"chr1\t{position}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(genotypes))
    return "\n".join(lines) + "\n"


def build_benchmark(steward: Any, folder: Path) -> dict[str, float]:
    import hashlib

    import pysam
    from django.conf import settings

    from datasets import synthetic
    from datasets.models import (
        DataFile,
        Dataset,
        LinkStatus,
        Sample,
        VariantIndex,
        VariantIndexStatus,
    )
    from datasets.services import variant_index_build

    settings.CUSTODIAN_DATA_ROOT = folder
    path = synthetic.bgzip_text(folder / "build.vcf.gz", vcf_text(BUILD_SITES))
    pysam.tabix_index(str(path), preset="vcf", force=True)
    names = [f"HG{n:05d}" for n in range(1, SAMPLES + 1)]
    dataset = Dataset.objects.first()
    assert dataset is not None
    other = Dataset.objects.create(
        title="Build", committee=dataset.committee, created_by=steward, permission="GRU"
    )
    Sample.objects.bulk_create(
        Sample(dataset=other, sample_id=n, link=LinkStatus.UNLINKED) for n in names
    )
    content = path.read_bytes()
    stat = path.stat()
    file = DataFile.objects.create(
        dataset=other,
        path=path.name,
        format="vcf.gz",
        samples=names,
        reference_genome="GRCh38",
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        sha256=hashlib.sha256(content).hexdigest(),
        md5=hashlib.md5(content).hexdigest(),  # noqa: S324 - a checksum
        status="valid",
        registered_by=steward,
    )
    reference_times, build_times = [], []
    for _ in range(3):
        start = time.perf_counter()
        # The reference as people type it: a pipe through the shell (path is ours).
        subprocess.run(  # noqa: S602
            f"bcftools view -H {path} | wc -l", shell=True, check=True, capture_output=True
        )
        reference_times.append(time.perf_counter() - start)
        VariantIndex.objects.filter(file=file).delete()
        index = VariantIndex.objects.create(file=file, status=VariantIndexStatus.BUILDING)
        start = time.perf_counter()
        built = variant_index_build(index=index)
        build_times.append(time.perf_counter() - start)
        assert built.status == VariantIndexStatus.READY, built.message
    return {
        "bcftools": statistics.median(reference_times),
        "build": statistics.median(build_times),
        "variants": float(built.variant_count or 0),
        "bytes": float(stat.st_size),
    }


def main() -> None:
    if not REUSE:
        bench_consent.psql(f"CREATE DATABASE {bench_consent.DB_NAME}")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if REUSE:
            from portal.models import User

            steward = User.objects.get(email="steward@bench.test")
            consent_seconds = 0.0
            built = kept_world()
        else:
            steward, version = bench_consent.consent_setup()
            start = time.perf_counter()
            bench_consent.build(version.pk, steward.pk)
            consent_seconds = time.perf_counter() - start
            built = world(steward)
        queries = query_benchmark(steward, built)
        with tempfile.TemporaryDirectory(prefix="bench-beacon-") as tmp:
            build = build_benchmark(steward, Path(tmp))
    finally:
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP") and not REUSE:
            bench_consent.psql(f"DROP DATABASE IF EXISTS {bench_consent.DB_NAME} WITH (FORCE)")

    print("## Beacon v2: consent-aware queries and the variant index (PostgreSQL)\n")
    print(" ".join(__doc__.strip().split("\n\n", 1)[1].split()) + "\n")
    if REUSE:
        print(
            f"Set-up: the database an earlier run of this script built and kept "
            f"({len(built['alleles']):,} alleles x {SAMPLES:,} samples, "
            f"{built['size'] / 1e6:.0f} MB with its index).\n"
        )
    else:
        print(
            f"Set-up: {bench_consent.PARTICIPANTS:,} participants' consent in "
            f"{consent_seconds:.0f} s; {VARIANTS:,} alleles x {SAMPLES:,} samples loaded with "
            f"COPY in {built['load']:.0f} s, {built['size'] / 1e6:.0f} MB with its index.\n"
        )
    bare = queries["bare"]
    print("### (a) Sequence queries, 300 random alleles each (ms)\n")
    print(
        "| query | p50 | p99 | p50 ratio to bare | p99 ratio to bare | p50 / p99 ratio to "
        "prepared |\n|---|---:|---:|---:|---:|---:|"
    )
    prepared = queries["prepared"]
    rows = [
        ("bare indexed lookup of the allele (ORM, reference)", bare),
        ("the beacon's own lookup alone (prepared, no consent filter)", prepared),
        ("public tier, boolean (`beacon_answer`)", queries["public"]),
        ("registered tier (HMB, GB), boolean", queries["registered"]),
        ("registered tier (HMB, GB), count", queries["registered_count"]),
        ("public tier, count", queries["public_count"]),
        ("public tier through the view (budget, audit entry, JSON)", queries["view"]),
    ]
    for name, times in rows:
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        print(
            f"| {name} | {p50:.2f} | {p99:.2f} | {p50 / percentile(bare, 0.5):.1f} | "
            f"{p99 / percentile(bare, 0.99):.1f} | {p50 / percentile(prepared, 0.5):.1f} / "
            f"{p99 / percentile(prepared, 0.99):.1f} |"
        )
    verdicts = []
    for tier in ("public", "registered"):
        times = queries[tier]
        p99 = percentile(times, 0.99)
        ratios = (
            percentile(times, 0.5) / percentile(bare, 0.5),
            p99 / percentile(bare, 0.99),
        )
        met = p99 < TARGET_P99_MS and max(ratios) <= TARGET_RATIO
        verdicts.append(
            f"{tier} {'met' if met else 'NOT met'} (p99 {p99:.1f} ms, {ratios[0]:.1f}x / "
            f"{ratios[1]:.1f}x the bare lookup at p50 / p99; "
            f"{percentile(times, 0.5) / percentile(prepared, 0.5):.1f}x / "
            f"{p99 / percentile(prepared, 0.99):.1f}x the prepared lookup alone)"
        )
    print(
        f"\nTarget (p99 under {TARGET_P99_MS} ms and within {TARGET_RATIO}x of the bare lookup, "
        f"consent filter applied): {'; '.join(verdicts)}.\n"
    )
    print(
        f"Load average (1 min) of the machine when the queries started and ended: "
        f"{queries['load'][0]:.1f} and {queries['load'][1]:.1f} (2 cores).\n"
    )
    print(
        f"A 1 Mb range query (count, public tier, ~{queries['range_found']:,.0f} alleles in "
        f"range): median {statistics.median(queries['range']):.0f} ms, worst "
        f"{max(queries['range']):.0f} ms of 5.\n"
    )
    print(f"### (b) Building the index of {BUILD_SITES:,} sites x {SAMPLES:,} samples\n")
    print("| step | seconds | ratio |\n|---|---:|---:|")
    print(f"| `bcftools view -H \\| wc -l` (Debian, reference) | {build['bcftools']:.2f} | 1.00 |")
    print(
        f"| `variant_index_build` ({build['variants']:,.0f} alleles written) | "
        f"{build['build']:.2f} | {build['build'] / build['bcftools']:.2f} |"
    )


if __name__ == "__main__":
    main()
