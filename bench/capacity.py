"""The capacity plan (docs/capacity.md), computed from the figures the benchmarks recorded in
docs/benchmarks.md, never typed by hand: `make capacity-plan` rewrites it after a benchmark run, and
tests/test_capacity.py fails when the document no longer matches the recorded figures.

    python -m bench.capacity [--check]

Each size's needs are the measured cost per unit times the size's load, at the HPA's 60% CPU target. The one
figure not measured here (the share of carts abandoned) is named as an assumption.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.athena_scan import cost_usd
from datagen import purchases
from serving.config import ServingConfig

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
# ElastiCache for Redis OSS, memory-optimised Graviton nodes: GiB of memory; a node is sized to 75% of it (AWS
# advises reserving 25% for replication buffers and forks)
ELASTICACHE_NODES = [("cache.r7g.large", 13.07), ("cache.r7g.xlarge", 26.32), ("cache.r7g.2xlarge", 52.82),
                     ("cache.r7g.4xlarge", 105.81), ("cache.r7g.8xlarge", 209.55), ("cache.r7g.12xlarge", 317.77),
                     ("cache.r7g.16xlarge", 419.09)]  # fmt: skip
NODE_MEMORY_USE = 0.75
CART_TTL_SECONDS = ServingConfig.__dataclass_fields__["cart_ttl_seconds"].default
CARTS_PER_ORDER = 1 / 0.3  # an assumption, not measured here: 70% of carts are abandoned (a common retail figure)
CATALOG_PRODUCTS = purchases.SCALES["full"].products  # the catalog does not grow with the lines: all of it cached


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
    redis_commands_per_request: dict[str, float] = field(default_factory=dict)  # role -> commands
    redis_key_bytes: dict[str, float] = field(default_factory=dict)  # "cart", "product" -> mean MEMORY USAGE
    query_bytes: dict[str, int] = field(default_factory=dict)  # canonical query -> bytes scanned
    dashboard_queries: int = 0
    dashboard_bytes: int = 0
    dashboard_usd: float = 0.0  # each of its queries billed at least 10 MB
    full_scan_bytes: int = 0  # every column of curated.order_lines at the seed's 1.8M lines
    hourly_window_orders: int = 0  # the window hourly_refresh_s was measured with
    hourly_s_per_thousand_orders: float = 0.0  # beyond it, from the largest window measured
    hourly_largest_window: int = 0


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


def key_bytes(serve: str, role: str, kind: str) -> float:
    keys = re.search(rf"Redis {role} keys after the runs[^:]*: (.*)", serve)
    return number(rf"(?:^|; ){kind} [\d,]+ x ([\d,]+) B", keys.group(1) if keys else "", f"bytes per {kind} key")


def query_scans(query: str) -> tuple[dict[str, int], re.Match]:
    block = query.split("Bytes scanned", 1)[-1]
    rows = dict(re.findall(r"^  ([a-z_]+)\s+[\d,]+\s+([\d,]+)\s+[\d.]+$", block, flags=re.M))
    refresh = re.search(r"dashboard refresh \((\d+) queries\)\s+[\d,]+\s+([\d,]+)\s+([\d.]+)", block)
    if not rows or refresh is None:
        raise SystemExit("docs/benchmarks.md: no bytes-scanned table in bench-query; re-run make bench-query")
    return {name: int(value.replace(",", "")) for name, value in rows.items()}, refresh


def measured(text: str) -> Measured:
    names = ("bench-serve", "bench-transform", "bench-hourly", "bench-query")
    serve, transform, hourly, query = (section(text, name) for name in names)
    no_think = re.search(r"the same mix without think time.*?\n.*?cores.*?\n", serve, flags=re.S)
    mix = no_think.group(0) if no_think else ""
    scales = re.findall(r"^\s+(\d+)x\s+[\d,]+\s+[\d.]+\s+([\d.]+)\s", transform, flags=re.M)
    if not scales:
        raise SystemExit(
            "docs/benchmarks.md: no scales table in bench-transform; run make bench-transform SCALES=1,2,4"
        )
    largest = max(scales, key=lambda row: int(row[0]))
    windows = re.findall(
        r"^\s+(\d+)x\s+([\d,]+)\s+[\d,]+\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+([\d.—]+)$", hourly, flags=re.M
    )
    if len(windows) < 2:
        raise SystemExit("docs/benchmarks.md: no window-size table in bench-hourly; re-run make bench-hourly")
    commands = re.search(r"Redis commands per request: state ([\d.]+), cache ([\d.]+)", serve)
    if commands is None:
        raise SystemExit("docs/benchmarks.md: no Redis commands per request in bench-serve; re-run make bench-serve")
    query_bytes, refresh = query_scans(query)
    return Measured(
        mix_requests_per_s=number(r"users: ([\d,.]+) req/s", mix, "the no-think-time mix's req/s"),
        storefront_cores=number(r"cores storefront ([\d.]+)", mix, "the mix's storefront cores"),
        postgres_cores=number(r"PostgreSQL ([\d.]+)", mix.split("cores", 1)[-1], "the mix's PostgreSQL cores"),
        redis_cores=number(r"Redis ([\d.]+)", mix.split("cores", 1)[-1], "the mix's Redis cores"),
        postgres_ms_per_order=number(r"per order: storefront [\d.]+ ms, PostgreSQL ([\d.]+) ms", serve, "PG ms/order"),
        spark_s_per_million_lines=float(largest[1]),
        spark_scale=f"{largest[0]}x",
        hourly_refresh_s=float(windows[0][2]),
        recorded={
            name: re.search(r"Last run: ([^(]+)", section(text, name)).group(1).strip().rstrip(",") for name in names
        },
        redis_commands_per_request={"state": float(commands.group(1)), "cache": float(commands.group(2))},
        redis_key_bytes={"cart": key_bytes(serve, "state", "cart"), "product": key_bytes(serve, "cache", "product")},
        query_bytes=query_bytes,
        dashboard_queries=int(refresh.group(1)),
        dashboard_bytes=int(refresh.group(2).replace(",", "")),
        dashboard_usd=float(refresh.group(3)),
        full_scan_bytes=int(
            number(r"curated\.order_lines, every column\s+[\d,]+\s+([\d,]+)", query, "the full scan's bytes")
        ),
        hourly_window_orders=int(windows[0][1].replace(",", "")),
        hourly_s_per_thousand_orders=float(windows[-1][3]),
        hourly_largest_window=int(windows[-1][1].replace(",", "")),
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
    redis_ops: dict[str, float] = field(default_factory=dict)  # role -> commands per second
    open_carts: float = 0.0
    cart_memory_gib: float = 0.0
    state_nodes: str = ""
    catalog_cache_gib: float = 0.0
    hourly_orders: float = 0.0
    hourly_seconds: float = 0.0
    full_scan_bytes: float = 0.0


def node_for(gib: float) -> tuple[str, int]:
    """The smallest ElastiCache node holding `gib` at NODE_MEMORY_USE, or the largest one in as many shards as
    it takes: (class, shards)."""
    for name, memory in ELASTICACHE_NODES:
        if gib <= memory * NODE_MEMORY_USE:
            return name, 1
    name, memory = ELASTICACHE_NODES[-1]
    return name, math.ceil(gib / (memory * NODE_MEMORY_USE))


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
    # carts: one per order and CARTS_PER_ORDER - 1 abandoned, each kept for its TTL (the peak held for a TTL)
    open_carts = size.orders_per_s * CARTS_PER_ORDER * CART_TTL_SECONDS
    cart_gib = open_carts * m.redis_key_bytes.get("cart", 0) / 2**30
    node, state_shards = node_for(cart_gib)
    hourly_orders = size.orders_per_s * 3600
    beyond = max(0.0, hourly_orders - m.hourly_window_orders)
    hourly_seconds = m.hourly_refresh_s + beyond / 1000 * m.hourly_s_per_thousand_orders
    loads = {
        f"storefront pods ({pods} needed, the HPA allows {HPA_MAX_PODS})": pods / HPA_MAX_PODS,
        f"PostgreSQL ({postgres_vcpu:.1f} vCPU needed, the largest class has {RDS_CLASSES[-1][1]})": postgres_vcpu
        / RDS_CLASSES[-1][1],
        f"Redis ({redis_cores:.2f} cores of commands, one core per shard)": redis_cores / REDIS_CORE,
        f"the hourly run on 2 vCPU ({hourly_seconds / 60:.0f} of its 60 minutes)": hourly_seconds / 3600,
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
        hourly_vcpu_hours=hourly_seconds * 2 / 3600,
        first_to_saturate=f"{first}: {loads[first]:.0%} of its limit",
        redis_ops={role: size.requests_per_s * per for role, per in m.redis_commands_per_request.items()},
        open_carts=open_carts,
        cart_memory_gib=cart_gib,
        state_nodes=f"{state_shards} x {node}",
        catalog_cache_gib=CATALOG_PRODUCTS * m.redis_key_bytes.get("product", 0) / 2**30,
        hourly_orders=hourly_orders,
        hourly_seconds=hourly_seconds,
        full_scan_bytes=m.full_scan_bytes * size.lines / SIZES[0].lines,
    )


def gib(value: float) -> str:
    return f"{value:,.1f} GiB" if value >= 0.1 else f"{value * 1024:,.0f} MiB"


def render(m: Measured) -> str:
    plans = [needs(size, m) for size in SIZES]
    storefront_ms = m.storefront_cores * 1000 / m.mix_requests_per_s
    postgres_ms = m.postgres_cores * 1000 / m.mix_requests_per_s
    redis_ms = m.redis_cores * 1000 / m.mix_requests_per_s
    commands = m.redis_commands_per_request
    biggest_query = max(m.query_bytes, key=m.query_bytes.get)
    cart_bytes, product_bytes = m.redis_key_bytes.get("cart", 0), m.redis_key_bytes.get("product", 0)
    rows = [
        ("purchase lines", lambda p: f"{p.size.lines / 1e6:,.1f}M"),
        ("storefront peak req/s; orders/s", lambda p: f"{p.size.requests_per_s:,.0f}; {p.size.orders_per_s:,.0f}"),
        ("storefront vCPU (at 60%); pods of 1 vCPU", lambda p: f"{p.storefront_vcpu:,.1f}; {p.pods}"),
        ("PostgreSQL vCPU (at 60%); RDS class", lambda p: f"{p.postgres_vcpu:,.1f}; {p.rds_class}"),
        ("connections into RDS Proxy; busy server connections",
         lambda p: f"{p.client_connections:,}; {p.busy_server_connections:.1f}"),
        ("Redis command cores; shards at 60%", lambda p: f"{p.redis_cores:.2f}; {p.redis_shards}"),
        ("ElastiCache commands/s: state; cache",
         lambda p: f"{p.redis_ops.get('state', 0):,.0f}; {p.redis_ops.get('cache', 0):,.0f}"),
        ("open carts (a peak held for a cart's TTL); their memory",
         lambda p: f"{p.open_carts / 1e6:,.1f}M; {gib(p.cart_memory_gib)}"),
        ("state ElastiCache for the carts", lambda p: p.state_nodes),
        ("cache ElastiCache: the whole catalog cached", lambda p: gib(p.catalog_cache_gib)),
        ("EMR vCPU-hours: full rebuild", lambda p: f"{p.rebuild_vcpu_hours:.2f}"),
        ("hourly run: orders in a peak hour; minutes on 2 vCPU; vCPU-hours",
         lambda p: f"{p.hourly_orders:,.0f}; {p.hourly_seconds / 60:,.1f}; {p.hourly_vcpu_hours:.3f}"),
        ("Athena: largest canonical query; a dashboard refresh",
         lambda p: f"{m.query_bytes[biggest_query] / 1e3:,.0f} kB, ${cost_usd(m.query_bytes[biggest_query]):.5f}; "
                   f"${m.dashboard_usd:.4f}"),
        ("Athena: every column of curated.order_lines",
         lambda p: f"{p.full_scan_bytes / 1e9:,.2f} GB, ${cost_usd(int(p.full_scan_bytes)):.4f}"),
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
- Redis commands per request of the same mix (INFO commandstats around the run): state {commands.get("state")},
  cache {commands.get("cache")}; memory per key (MEMORY USAGE after the run): a cart {cart_bytes:,.0f} B, a
  cached product {product_bytes:,.0f} B (`make bench-serve`).
- Spark: {m.spark_s_per_million_lines} s per million lines on 2 cores at {m.spark_scale} the seed's 1.8M lines (the
  cost per line falls with size; `make bench-transform SCALES=1,2,4`), taken as flat above it.
- The hourly refresh on a year-old lake: {m.hourly_refresh_s} s for a {m.hourly_window_orders:,}-order window, and
  {m.hourly_s_per_thousand_orders} s per 1,000 more orders up to a {m.hourly_largest_window:,}-order window
  (`make bench-hourly`; flat with the lake's age). Larger windows are extrapolated from that slope.
- Athena: bytes each canonical query scans on the full-scale lake (the Parquet column chunks of the partitions
  it reads, from DuckDB's profile, `make bench-query`): the largest is `{biggest_query}` with
  {m.query_bytes[biggest_query]:,} bytes; a dashboard refresh runs {m.dashboard_queries} queries scanning
  {m.dashboard_bytes:,} bytes, each billed the 10 MB minimum; every column of curated.order_lines is
  {m.full_scan_bytes:,} bytes at 1.8M lines. The canonical queries read the marts, which hold a row per day,
  state, category or cube cell, not per line: taken as flat with size; curated grows with the lines.

Recorded:
{sources}
## Needs by size

Load: the seed (1.8M lines, its load test's 637 req/s), 10x, and 100x (180M lines; a Black Friday peak of
50,000 req/s and 2,000 orders/s); orders per request as at the peak (4%). Head-room: every CPU figure is
sized for {TARGET_UTILISATION:.0%} utilisation, the HPA's target; ElastiCache memory for {NODE_MEMORY_USE:.0%} of a
node. Open carts: {CARTS_PER_ORDER:.1f} carts per order (an assumption: 70% abandoned) kept for the cart TTL
({CART_TTL_SECONDS // 3600} h, `serving/config.py`), with the peak held that long: an upper bound.

{header}{table}
## The first component to saturate

{first}
Storefront pods scale out (raise the HPA's `maxReplicas` past {HPA_MAX_PODS} and the node group with it);
PostgreSQL scales up a class at a time and its reads are already cached, so orders are its cost (then
partitioning orders by customer, or a second writer, is the next change); Redis commands run on one core per
shard, so past {TARGET_UTILISATION:.0%} of a core the cache role moves to cluster mode (keys are per product,
per listing page and per cart: they spread over shards), and the near caches take the hottest reads off it.
The state role never evicts (carts are not cache), so its memory is the carts held: the cart TTL is the lever
(a shorter TTL for carts untouched for hours divides it in proportion). The hourly run grows with the orders
in its window, not with the lake: past an hour on 2 vCPU it needs more EMR Serverless workers, or shorter
windows.

## Not measured here

- Athena's own planning and the S3 request costs (DuckDB reads local files): the bytes are the Parquet column
  chunks it would read, the billing unit.
- Windows larger than {m.hourly_largest_window:,} orders, and carts' real abandonment rate.
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
