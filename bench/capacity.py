"""The capacity plan (docs/capacity.md), computed from the figures the benchmarks recorded in
docs/benchmarks.md, never typed by hand: `make capacity-plan` rewrites it after a benchmark run, and
tests/test_capacity.py fails when the document no longer matches the recorded figures.

    python -m bench.capacity [--check]

Each size's needs are the measured cost per unit times the size's load, at the HPA's 60% CPU target. What the
benchmarks do not record yet (Redis commands and memory per request, Athena bytes per query) is named as a
gap, not guessed.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
PLAN = ROOT / "docs" / "capacity.md"
TARGET_UTILISATION = 0.6  # the storefront HPA's CPU target (docker/k8s/storefront.yaml); the same head-room elsewhere
HPA_MAX_PODS = 20
POD_VCPU, WORKERS_PER_POD, POOL_PER_WORKER = 1, 2, 8
# RDS for PostgreSQL, memory-optimised Graviton classes: vCPU
RDS_CLASSES = [("db.r6g.large", 2), ("db.r6g.xlarge", 4), ("db.r6g.2xlarge", 8), ("db.r6g.4xlarge", 16),
               ("db.r6g.8xlarge", 32), ("db.r6g.12xlarge", 48), ("db.r6g.16xlarge", 64)]  # fmt: skip
REDIS_CORE = 1.0  # Redis OSS executes commands on one core per node (shard)


@dataclass(frozen=True)
class Size:
    name: str
    lines: int  # purchase lines in the lake
    requests_per_s: float  # storefront peak
    orders_per_s: float


# The seed's own figures (1.8M lines, 637 req/s at its load test), 10x, and the Black Friday peak of 100x.
SIZES = [
    Size("seed", 1_800_000, 637, 637 * 2_000 / 50_000),
    Size("10x", 18_000_000, 6_370, 6_370 * 2_000 / 50_000),
    Size("100x", 180_000_000, 50_000, 2_000),
]


@dataclass(frozen=True)
class Measured:
    """The recorded figures the plan rests on, each with where it was measured."""

    mix_requests_per_s: float
    storefront_cores: float
    postgres_cores: float
    redis_cores: float
    postgres_ms_per_order: float
    spark_s_per_million_lines: float
    spark_scale: str
    hourly_refresh_s: float
    recorded: dict[str, str]  # section -> its "Last run" line


def section(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}: figures -->\n(.*?)<!-- /{name} -->", text, flags=re.S)
    if match is None:
        raise SystemExit(f"docs/benchmarks.md has no recorded {name} section: run make {name} first")
    return match.group(1)


def number(pattern: str, text: str, what: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"docs/benchmarks.md: cannot find {what} (pattern {pattern!r}); re-run its benchmark")
    return float(match.group(1).replace(",", ""))


def measured(text: str) -> Measured:
    serve, transform, hourly = (section(text, name) for name in ("bench-serve", "bench-transform", "bench-hourly"))
    no_think = re.search(r"the same mix without think time.*?\n.*?cores.*?\n", serve, flags=re.S)
    mix = no_think.group(0) if no_think else ""
    scales = re.findall(r"^\s+(\d+)x\s+[\d,]+\s+[\d.]+\s+([\d.]+)\s", transform, flags=re.M)
    if not scales:
        raise SystemExit(
            "docs/benchmarks.md: no scales table in bench-transform; run make bench-transform SCALES=1,2,4"
        )
    largest = max(scales, key=lambda row: int(row[0]))
    return Measured(
        mix_requests_per_s=number(r"users: ([\d,.]+) req/s", mix, "the no-think-time mix's req/s"),
        storefront_cores=number(r"cores storefront ([\d.]+)", mix, "the mix's storefront cores"),
        postgres_cores=number(r"PostgreSQL ([\d.]+)", mix.split("cores", 1)[-1], "the mix's PostgreSQL cores"),
        redis_cores=number(r"Redis ([\d.]+)", mix.split("cores", 1)[-1], "the mix's Redis cores"),
        postgres_ms_per_order=number(r"per order: storefront [\d.]+ ms, PostgreSQL ([\d.]+) ms", serve, "PG ms/order"),
        spark_s_per_million_lines=float(largest[1]),
        spark_scale=f"{largest[0]}x",
        hourly_refresh_s=number(r"a year\s+[\d,]+\s+([\d.]+)", hourly, "the hourly refresh on a year-old lake"),
        recorded={
            name: re.search(r"Last run: ([^(]+)", section(text, name)).group(1).strip().rstrip(",")
            for name in ("bench-serve", "bench-transform", "bench-hourly")
        },
    )


@dataclass(frozen=True)
class Needs:
    size: Size
    storefront_vcpu: float
    pods: int
    postgres_vcpu: float
    rds_class: str
    client_connections: int
    busy_server_connections: float
    redis_cores: float
    redis_shards: int
    rebuild_vcpu_hours: float
    hourly_vcpu_hours: float
    first_to_saturate: str


def needs(size: Size, m: Measured) -> Needs:
    storefront_ms = m.storefront_cores * 1000 / m.mix_requests_per_s
    postgres_ms = m.postgres_cores * 1000 / m.mix_requests_per_s
    redis_ms = m.redis_cores * 1000 / m.mix_requests_per_s
    storefront_vcpu = size.requests_per_s * storefront_ms / 1000 / TARGET_UTILISATION
    pods = max(2, math.ceil(storefront_vcpu / POD_VCPU))
    # reads are cached: PostgreSQL's share per request of the mix, or the orders' own cost, whichever is larger
    postgres_busy = max(size.requests_per_s * postgres_ms, size.orders_per_s * m.postgres_ms_per_order) / 1000
    postgres_vcpu = postgres_busy / TARGET_UTILISATION
    rds = next((name for name, vcpu in RDS_CLASSES if vcpu >= postgres_vcpu), f"> {RDS_CLASSES[-1][0]}")
    redis_cores = size.requests_per_s * redis_ms / 1000
    shards = max(1, math.ceil(redis_cores / (REDIS_CORE * TARGET_UTILISATION)))
    loads = {
        f"storefront pods ({pods} needed, the HPA allows {HPA_MAX_PODS})": pods / HPA_MAX_PODS,
        f"PostgreSQL ({postgres_vcpu:.1f} vCPU needed, the largest class has {RDS_CLASSES[-1][1]})": postgres_vcpu
        / RDS_CLASSES[-1][1],
        f"Redis ({redis_cores:.2f} cores of commands, one core per shard)": redis_cores / REDIS_CORE,
    }
    first = max(loads, key=loads.get)
    return Needs(
        size=size,
        storefront_vcpu=storefront_vcpu,
        pods=pods,
        postgres_vcpu=postgres_vcpu,
        rds_class=rds,
        client_connections=pods * WORKERS_PER_POD * POOL_PER_WORKER,
        busy_server_connections=postgres_busy,  # Little's law: PostgreSQL-seconds per second in flight
        redis_cores=redis_cores,
        redis_shards=shards,
        rebuild_vcpu_hours=size.lines / 1e6 * m.spark_s_per_million_lines * 2 / 3600,
        hourly_vcpu_hours=m.hourly_refresh_s * 2 / 3600,
        first_to_saturate=f"{first}: {loads[first]:.0%} of its limit",
    )


def render(m: Measured) -> str:
    plans = [needs(size, m) for size in SIZES]
    storefront_ms = m.storefront_cores * 1000 / m.mix_requests_per_s
    postgres_ms = m.postgres_cores * 1000 / m.mix_requests_per_s
    redis_ms = m.redis_cores * 1000 / m.mix_requests_per_s
    rows = [
        ("purchase lines", lambda p: f"{p.size.lines / 1e6:,.1f}M"),
        ("storefront peak req/s; orders/s", lambda p: f"{p.size.requests_per_s:,.0f}; {p.size.orders_per_s:,.0f}"),
        ("storefront vCPU (at 60%); pods of 1 vCPU", lambda p: f"{p.storefront_vcpu:,.1f}; {p.pods}"),
        ("PostgreSQL vCPU (at 60%); RDS class", lambda p: f"{p.postgres_vcpu:,.1f}; {p.rds_class}"),
        ("connections into RDS Proxy; busy server connections",
         lambda p: f"{p.client_connections:,}; {p.busy_server_connections:.1f}"),
        ("Redis command cores; shards at 60%", lambda p: f"{p.redis_cores:.2f}; {p.redis_shards}"),
        ("EMR vCPU-hours: full rebuild; one hourly run",
         lambda p: f"{p.rebuild_vcpu_hours:.2f}; ≥ {p.hourly_vcpu_hours:.3f}"),
    ]  # fmt: skip
    header = "| | " + " | ".join(p.size.name for p in plans) + " |\n|---|" + "---|" * len(plans) + "\n"
    table = "".join(f"| {label} | " + " | ".join(cell(p) for p in plans) + " |\n" for label, cell in rows)
    first = "".join(f"- **{p.size.name}**: {p.first_to_saturate}.\n" for p in plans)
    sources = "".join(f"- `{name}`: {when}\n" for name, when in m.recorded.items())
    return f"""# Capacity plan

Written by `python -m bench.capacity` (`make capacity-plan`) from the figures the benchmarks recorded in
[benchmarks.md](benchmarks.md); `tests/test_capacity.py` fails when this page no longer matches them. Do not
edit it by hand: re-run the benchmarks, then the script.

## What it rests on (measured on 2 cores)

- Storefront CPU per request of the shopper mix without think time: {storefront_ms:.3f} ms
  ({m.storefront_cores} cores at {m.mix_requests_per_s:,.1f} req/s, `make bench-serve`); PostgreSQL
  {postgres_ms:.3f} ms and Redis {redis_ms:.3f} ms per request in the same run.
- PostgreSQL per order (add to cart + checkout over HTTP): {m.postgres_ms_per_order} ms (`make bench-serve`).
- Spark: {m.spark_s_per_million_lines} s per million lines on 2 cores at {m.spark_scale} the seed's 1.8M lines (the
  cost per line falls with size; `make bench-transform SCALES=1,2,4`), taken as flat above it.
- The hourly refresh of one window: {m.hourly_refresh_s} s on 2 cores on a year-old lake (`make bench-hourly`;
  flat with the lake's age, measured with a 371-order window: at 10x and 100x a window holds more, so the
  hourly figure is a lower bound).

Recorded:
{sources}
## Needs by size

Load: the seed (1.8M lines, its load test's 637 req/s), 10x, and 100x (180M lines; a Black Friday peak of
50,000 req/s and 2,000 orders/s); orders per request as at the peak (4%). Head-room: every CPU figure is
sized for {TARGET_UTILISATION:.0%} utilisation, the HPA's target.

{header}{table}
## The first component to saturate

{first}
Storefront pods scale out (raise the HPA's `maxReplicas` past {HPA_MAX_PODS} and the node group with it);
PostgreSQL scales up a class at a time and its reads are already cached, so orders are its cost (then
partitioning orders by customer, or a second writer, is the next change); Redis commands run on one core per
shard, so past {TARGET_UTILISATION:.0%} of a core the cache role moves to cluster mode (keys are per product,
per listing page and per cart: they spread over shards), and the near caches take the hottest reads off it.

## Not measured yet (left for the next round)

- Redis commands per request and bytes per cart and per cached entry: ElastiCache operations per second and
  memory need them (the figures above give Redis CPU, not operations).
- Athena bytes scanned per canonical query and per dashboard refresh (from the Parquet metadata of the
  partitions each query reads): `make bench-query` records their DuckDB time only.
- An hourly run with a window 10x and 100x the seed's (the figure above is the seed's window).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/capacity.md is out of date")
    args = parser.parse_args(argv)
    text = render(measured(BENCHMARKS.read_text()))
    if args.check:
        current = PLAN.read_text() if PLAN.exists() else ""
        if current != text:
            sys.stderr.write("docs/capacity.md does not match docs/benchmarks.md: run make capacity-plan\n")
            return 1
        return 0
    PLAN.write_text(text)
    sys.stderr.write(f"wrote {PLAN.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
