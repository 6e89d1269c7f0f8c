"""How to store the beacon's variant index: measured before choosing (docs/beacon.md).

At 2,504 samples, with carriers drawn from a neutral site-frequency spectrum and a
1,000,000-row consent table, three layouts in a scratch database: (a) an int[] of carrier
sample ids per allele, (b) a bitmap over the file's sample columns per allele, (c) one row
per (allele, carrier). Prints load time, size and query latency. Not part of `make bench`
(run it by hand: `python benchmarks/beacon_layouts.py`; V= and RV= set the allele counts).
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time

import psycopg

PG = "postgres://postgres@127.0.0.1:5432"
DB = "custodian_beacon_layouts"
SAMPLES = 2504
PARTICIPANTS = 1_000_000
VARIANTS = int(os.environ.get("V", "100000"))
ROW_VARIANTS = int(os.environ.get("RV", "20000"))
rng = random.Random(3)


def carriers_for() -> list[int]:
    # neutral site-frequency spectrum: density ~ 1/f on [1/5008, 0.5]
    lo, hi = 1 / 5008, 0.5
    f = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    p = 1 - (1 - f) ** 2
    n = max(1, min(SAMPLES, int(rng.gauss(SAMPLES * p, math.sqrt(SAMPLES * p * (1 - p)) + 0.5))))
    return sorted(rng.sample(range(1, SAMPLES + 1), n))


with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
    c.execute(f"DROP DATABASE IF EXISTS {DB}")
    c.execute(f"CREATE DATABASE {DB}")
conn = psycopg.connect(f"{PG}/{DB}", autocommit=True)
x = conn.execute
x(
    "CREATE TABLE cc (participant_id int PRIMARY KEY, status text, suspended bool, permits_gru bool, non_commercial_only bool, in_country_only bool)"
)
with conn.cursor().copy("COPY cc FROM STDIN") as cp:
    for i in range(1, PARTICIPANTS + 1):
        st = "no_use" if rng.random() < 0.01 else "active"
        cp.write_row((i, st, False, rng.random() < 0.55, rng.random() < 0.5, rng.random() < 0.5))
x(
    "CREATE INDEX cc_usable ON cc (participant_id) INCLUDE (permits_gru, non_commercial_only, in_country_only) WHERE NOT suspended AND status <> 'no_use'"
)
x(
    "CREATE TABLE sample (id int PRIMARY KEY, dataset_id int, participant_id int, link text, community_id int)"
)
pids = rng.sample(range(1, PARTICIPANTS + 1), SAMPLES)
with conn.cursor().copy("COPY sample FROM STDIN") as cp:
    for i in range(1, SAMPLES + 1):
        cp.write_row((i, 1, pids[i - 1], "linked", None))
x(
    "CREATE TABLE var_arr (id serial PRIMARY KEY, file_id int, chrom text, pos int, ref text, alt text, carrier_count int, carriers int[])"
)
x(
    "CREATE TABLE var_bits (id serial PRIMARY KEY, file_id int, chrom text, pos int, ref text, alt text, carrier_count int, bits bytea)"
)
x(
    "CREATE TABLE var_plain (id int PRIMARY KEY, file_id int, chrom text, pos int, ref text, alt text)"
)
x("CREATE TABLE var_rows (variant_id int, sample_id int, PRIMARY KEY (variant_id, sample_id))")
keys = []
t_arr = t_bits = t_rows = 0.0
buf_a, buf_b, buf_p, buf_r = [], [], [], []
total_carriers = 0
for v in range(1, VARIANTS + 1):
    cs = carriers_for()
    total_carriers += len(cs)
    pos = v * 10
    key = ("1", pos, "A", "G")
    keys.append((key, len(cs)))
    buf_a.append((1, *key, len(cs), cs))
    bits = 0
    for s in cs:
        bits |= 1 << (s - 1)
    buf_b.append((1, *key, len(cs), bits.to_bytes((SAMPLES + 7) // 8, "little")))
    if v <= ROW_VARIANTS:
        buf_p.append((v, 1, *key))
        buf_r.extend((v, s) for s in cs)


def load(table, cols, rows):
    t = time.perf_counter()
    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
    return time.perf_counter() - t


t_arr = load("var_arr", "file_id,chrom,pos,ref,alt,carrier_count,carriers", buf_a)
t_bits = load("var_bits", "file_id,chrom,pos,ref,alt,carrier_count,bits", buf_b)
load("var_plain", "id,file_id,chrom,pos,ref,alt", buf_p)
t_rows = load("var_rows", "variant_id,sample_id", buf_r)
for t in ("var_arr", "var_bits", "var_plain"):
    x(f"CREATE INDEX {t}_locus ON {t} (chrom, pos)")
x("VACUUM ANALYZE")


def size(t):
    return x(f"SELECT pg_total_relation_size('{t}')").fetchone()[0]


print(f"variants {VARIANTS}, mean carriers {total_carriers / VARIANTS:.0f}")
print(
    f"int[]  : load {t_arr:.1f}s size {size('var_arr') / 1e6:.0f} MB -> x{1e6 / VARIANTS:.0f} for 1M"
)
print(f"bitmap : load {t_bits:.1f}s size {size('var_bits') / 1e6:.0f} MB")
print(
    f"rows   : {ROW_VARIANTS} variants, {len(buf_r)} rows, load {t_rows:.1f}s size {(size('var_rows') + size('var_plain')) / 1e6:.0f} MB -> x{1e6 / ROW_VARIANTS:.0f} for 1M"
)

CONSENT = "s.link = 'linked' AND s.community_id IS NULL AND NOT cc.suspended AND cc.status <> 'no_use' AND cc.permits_gru AND NOT cc.in_country_only AND NOT cc.non_commercial_only"
Q = {
    "bare": "SELECT id, carrier_count FROM var_arr WHERE chrom=%s AND pos=%s AND ref=%s AND alt=%s",
    "arr_bool": f"SELECT EXISTS (SELECT 1 FROM var_arr v CROSS JOIN LATERAL unnest(v.carriers) sid JOIN sample s ON s.id = sid JOIN cc ON cc.participant_id = s.participant_id WHERE v.chrom=%s AND v.pos=%s AND v.ref=%s AND v.alt=%s AND {CONSENT})",
    "arr_count": f"SELECT count(DISTINCT s.participant_id) FROM var_arr v CROSS JOIN LATERAL unnest(v.carriers) sid JOIN sample s ON s.id = sid JOIN cc ON cc.participant_id = s.participant_id WHERE v.chrom=%s AND v.pos=%s AND v.ref=%s AND v.alt=%s AND {CONSENT}",
    "rows_count": f"SELECT count(DISTINCT s.participant_id) FROM var_plain v JOIN var_rows r ON r.variant_id = v.id JOIN sample s ON s.id = r.sample_id JOIN cc ON cc.participant_id = s.participant_id WHERE v.chrom=%s AND v.pos=%s AND v.ref=%s AND v.alt=%s AND {CONSENT}",
}


def bitmap_count(k):
    row = x(
        "SELECT bits FROM var_bits WHERE chrom=%s AND pos=%s AND ref=%s AND alt=%s", k
    ).fetchone()
    ok = 0
    for (sid,) in x(
        f"SELECT s.id FROM sample s JOIN cc ON cc.participant_id = s.participant_id WHERE s.dataset_id = 1 AND {CONSENT}"
    ):
        ok |= 1 << (sid - 1)
    return (int.from_bytes(row[0], "little") & ok).bit_count()


def timeit(fn, ks):
    ts = []
    for k in ks:
        t = time.perf_counter()
        fn(k)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return f"p50 {statistics.median(ts):.2f} ms  p99 {ts[int(len(ts) * 0.99) - 1]:.2f} ms"


sample_keys = [k for k, _ in rng.sample(keys[:ROW_VARIANTS], 400)]
common = [k for k, n in keys[:ROW_VARIANTS] if n > 1000][:200]
for name, sql in Q.items():
    for _ in range(50):
        x(sql, sample_keys[0]).fetchone()
    print(
        f"{name:10} random: {timeit(lambda k, sql=sql: x(sql, k).fetchone(), sample_keys)} | common(>1000 carriers): {timeit(lambda k, sql=sql: x(sql, k).fetchone(), common)}"
    )
print(
    f"{'bitmap':10} random: {timeit(bitmap_count, sample_keys)} | common: {timeit(bitmap_count, common)}"
)
conn.close()
