"""The capacity plan (docs/capacity.md) and the sizes the AWS stacks deploy (infra/sizes.json), computed from the
figures the benchmarks kept (bench/results/<benchmark>.json, written by bench/record.py; their printed runs are in
docs/benchmarks.md), never typed by hand nor parsed from a document: `make capacity-plan` rewrites both after a
benchmark run, and tests/test_capacity.py fails when either no longer matches the kept figures.

    python -m bench.capacity [--check]

Each size's needs are the measured cost per unit times the size's load, at the HPA's 60% CPU target. What is
not measured here is named as an assumption beside its constant; prices are bench/prices.json's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.athena_scan import cost_usd
from bench.record import load_result
from datagen import purchases
from serving.config import ServingConfig

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "docs" / "capacity.md"
SIZES_FILE = ROOT / "infra" / "sizes.json"
PRICES = json.loads((Path(__file__).with_name("prices.json")).read_text())
TARGET_UTILISATION = 0.6  # the storefront HPA's CPU target (docker/k8s/storefront.yaml); the same head-room elsewhere
HPA_MAX_PODS = 20  # the manifest's maxReplicas: a size needing fewer keeps it
SURGE = 1.25  # an assumption: the HPA may go a quarter past the planned peak
OFF_PEAK_SHARE = 0.25  # an assumption: the quietest hours need a quarter of the peak's pods (minReplicas)
POD_VCPU, WORKERS_PER_POD, POOL_PER_WORKER = 1, 2, 8
NODE = ("m7i.xlarge", 4, 3)  # EKS node type, its vCPU, storefront pods per node (one vCPU left to the system pods)
# RDS for PostgreSQL, memory-optimised Graviton classes: vCPU, GiB; max_connections is RDS's default for the class,
# LEAST(DBInstanceClassMemory / 9531392, 5000)
RDS_CLASSES = [("db.r6g.large", 2, 16), ("db.r6g.xlarge", 4, 32), ("db.r6g.2xlarge", 8, 64),
               ("db.r6g.4xlarge", 16, 128), ("db.r6g.8xlarge", 32, 256), ("db.r6g.12xlarge", 48, 384),
               ("db.r6g.16xlarge", 64, 512)]  # fmt: skip
PROXY_MAX_CONNECTIONS_PERCENT = 90  # of max_connections: the rest for the owner, the extract and monitoring
STORAGE_GIB_PER_100K_LINES = 1  # an assumption: a line and its order ~1 KB with indexes, x10 for history and WAL
REDIS_CORE = 1.0  # Redis OSS executes commands on one core per node (shard)
# ElastiCache for Redis OSS, memory-optimised Graviton nodes: GiB of memory; a node is sized to 75% of it (AWS
# advises reserving 25% for replication buffers and forks)
ELASTICACHE_NODES = [("cache.r7g.large", 13.07), ("cache.r7g.xlarge", 26.32), ("cache.r7g.2xlarge", 52.82),
                     ("cache.r7g.4xlarge", 105.81), ("cache.r7g.8xlarge", 209.55), ("cache.r7g.12xlarge", 317.77),
                     ("cache.r7g.16xlarge", 419.09)]  # fmt: skip
NODE_MEMORY_USE = 0.75
REPLICAS_PER_SHARD = 1  # each Redis role: a replica in the other AZ (failover for state, reads kept for cache)
CART_TTL_SECONDS = ServingConfig.__dataclass_fields__["cart_ttl_seconds"].default
CARTS_PER_ORDER = 1 / 0.3  # an assumption, not measured here: 70% of carts are abandoned (a common retail figure)
PEAK_HOURS_PER_DAY = 8  # an assumption: the Black Friday day's orders and requests equal 8 hours at the peak rate
CART_LINES = (1, 2, 3)  # an assumption: a cart holds 1 to 3 lines, equally often (so an order has 2 lines)
CATALOG_PRODUCTS = purchases.SCALES["full"].products  # the catalog does not grow with the lines: all of it cached
SEED_LINES = 1_800_000
PARTITION_BYTES = 128 * 2**20  # the job's target shuffle partition (AQE's advisory size on EMR)
EMR_WORKER_VCPU, EMR_WORKER_GB = 4, 16
MWAA_CLASS = ("mw1.small", 1, 2)  # class, worker vCPU, worker GiB: the extract is one process, paged in memory
EXTRACT_SHARE = 0.1  # the peak hour's extract may take this share of the hour on one worker vCPU
DOORBUSTER_SHARE = 0.1  # an assumption: on the 100x morning one product takes a tenth of the orders
DASHBOARD_REFRESHES_PER_DAY = 96  # an assumption: every 15 minutes
WRITES_PER_RUN = 30  # an assumption: files an hourly run writes besides the buckets (marts, manifests, records)
LAKE_COPIES = 3  # an assumption: raw windows, curated, and versions kept for a day and by S3 versioning
INTERFACE_ENDPOINTS, AZS, NAT_GATEWAYS, ALARMS, KEYS, SECRETS = 12, 2, 2, 12, 4, 3


@dataclass(frozen=True)
class Size:
    name: str
    lines: int  # purchase lines in the lake
    requests_per_s: float  # storefront peak
    orders_per_s: float


# The seed's own figures (1.8M lines, 637 req/s at its load test), 10x, and the Black Friday peak of 100x.
SIZES = [
    Size("seed", SEED_LINES, 637, 637 * 2_000 / 50_000),
    Size("10x", SEED_LINES * 10, 6_370, 6_370 * 2_000 / 50_000),
    Size("100x", SEED_LINES * 100, 50_000, 2_000),
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
    recorded: dict[str, str]  # benchmark -> when, where and at which commit it ran
    redis_commands_per_request: dict[str, float] = field(default_factory=dict)  # role -> commands
    redis_key_bytes: dict[str, float] = field(default_factory=dict)  # "product" -> mean MEMORY USAGE
    cache_other_bytes: float = 0.0  # the cache role's other keys after the run (pages, categories)
    cart_bytes: dict[int, float] = field(default_factory=dict)  # lines -> MEMORY USAGE of a cart filled by the API
    # PostgreSQL connection holds (wall time from the pool's getconn to putconn), the mix without think time
    read_hold_ms: float = 0.0
    read_holds_per_request: float = 0.0
    checkout_hold_ms: float = 0.0  # the checkout run: one checkout transaction per order
    query_bytes: dict[str, int] = field(default_factory=dict)  # canonical query -> bytes scanned
    dashboard_queries: int = 0
    dashboard_bytes: int = 0
    dashboard_usd: float = 0.0  # each of its queries billed at least 10 MB
    full_scan_bytes: int = 0  # every column of curated.order_lines at the seed's 1.8M lines
    hourly_window_orders: int = 0  # the window hourly_refresh_s was measured with
    hourly_s_per_thousand_orders: float = 0.0  # beyond it, from the largest window measured
    hourly_largest_window: int = 0
    extract_orders_per_s: float = 0.0  # the whole volume in one window, one process
    extract_peak_rss_mb: float = 0.0
    hot_one_product_orders_per_s: float = 0.0  # every buyer on one product, the checkout transaction
    hot_spread_orders_per_s: float = 0.0  # the same load over 100 products
    hot_split_orders_per_s: float = 0.0  # the one product with its stock split over hot_split_slots slots
    hot_split_slots: int = 0
    hot_buyers: int = 0  # the concurrent buyers of those runs


MEASURED_BY = ("bench-serve", "bench-transform", "bench-hourly", "bench-query", "bench-extract", "bench-hot-product")


def load_results() -> dict[str, dict]:
    """The kept outcome of each benchmark the plan rests on (bench/results/<name>.json, bench/record.py)."""
    return {name: load_result(name) for name in MEASURED_BY}


def measured(results: dict[str, dict]) -> Measured:
    """The plan's figures, read from the benchmarks' kept outcomes."""
    serve, transform, hourly, query, extract, hot = (results[name]["figures"] for name in MEASURED_BY)
    scale, largest = max(transform["scales"].items(), key=lambda item: int(item[0]))
    windows = hourly["window_sizes"]
    if len(windows) < 2:
        raise SystemExit("bench/results/bench-hourly.json has one window size: re-run make bench-hourly")
    recorded = {name: results[name]["recorded"] for name in MEASURED_BY}
    return Measured(
        mix_requests_per_s=serve["mix_requests_per_s"],
        storefront_cores=serve["mix_cores"]["storefront"],
        postgres_cores=serve["mix_cores"]["postgres"],
        redis_cores=serve["mix_cores"]["redis"],
        postgres_ms_per_order=serve["checkout_postgres_ms_per_order"],
        spark_s_per_million_lines=largest["s_per_million_lines"],
        spark_scale=f"{scale}x",
        hourly_refresh_s=windows[0]["refresh_s"],
        recorded={name: f"{r['when']}, {r['machine']}, commit {r['commit']}" for name, r in recorded.items()},
        redis_commands_per_request=serve["redis_commands_per_request"],
        redis_key_bytes={"product": serve["redis_keys"]["cache"]["product"][1]},
        cache_other_bytes=sum(n * b for kind, (n, b) in serve["redis_keys"]["cache"].items() if kind != "product"),
        cart_bytes={int(lines): size for lines, size in serve["cart_bytes"].items()},
        read_hold_ms=serve["read_hold_ms"],
        read_holds_per_request=serve["read_holds_per_request"],
        checkout_hold_ms=serve["checkout_hold_ms"],
        query_bytes=query["query_bytes"],
        dashboard_queries=query["dashboard"]["queries"],
        dashboard_bytes=query["dashboard"]["bytes"],
        dashboard_usd=query["dashboard"]["usd"],
        full_scan_bytes=query["full_scan_bytes"],
        hourly_window_orders=windows[0]["orders"],
        hourly_s_per_thousand_orders=windows[-1]["s_per_thousand_more_orders"],
        hourly_largest_window=windows[-1]["orders"],
        extract_orders_per_s=extract["extract_orders_per_s"],
        extract_peak_rss_mb=extract["extract_peak_rss_mb"],
        hot_one_product_orders_per_s=hot["one_product_orders_per_s"],
        hot_spread_orders_per_s=hot["spread_orders_per_s"],
        hot_split_orders_per_s=hot["split_orders_per_s"],
        hot_split_slots=hot["split_slots"],
        hot_buyers=hot["buyers"],
    )


@dataclass(frozen=True)
class Redis:
    role: str
    commands_per_s: float
    cores: float
    memory_gib: float
    node: str
    shards: int
    replicas: int = REPLICAS_PER_SHARD

    @property
    def nodes(self) -> int:
        return self.shards * (1 + self.replicas)


@dataclass(frozen=True)
class Needs:
    size: Size
    storefront_vcpu: float
    pods: int
    pods_min: int
    pods_max: int
    nodes_min: int
    nodes_max: int
    postgres_vcpu: float
    rds_class: str
    max_connections: int
    client_connections: int  # pooled connections the pods may open into RDS Proxy (the pools' sizes)
    busy_server_connections: float  # Little's law: transactions per second x wall time in a transaction
    storage_gib: int
    state: Redis
    cache: Redis
    open_carts: float
    cart_bytes: float
    rebuild_vcpu_hours: float
    rebuild_partitions: int
    emr_max_executors: int
    hourly_orders: float
    hourly_seconds: float  # on 2 vCPU, as measured
    hourly_partitions: int
    hourly_executors: int
    hourly_vcpu_hours: float
    emr_initial_executors: int
    extract_seconds: float
    full_scan_bytes: float
    athena_cutoff_bytes: int
    doorbuster_orders_per_s: float
    doorbuster_slots: int
    first_to_saturate: str
    costs: dict[str, float] = field(default_factory=dict)


def node_for(gib: float) -> tuple[str, int]:
    """The smallest ElastiCache node holding `gib` at NODE_MEMORY_USE, or the largest one in as many shards as
    it takes: (class, shards)."""
    for name, memory in ELASTICACHE_NODES:
        if gib <= memory * NODE_MEMORY_USE:
            return name, 1
    name, memory = ELASTICACHE_NODES[-1]
    return name, math.ceil(gib / (memory * NODE_MEMORY_USE))


def redis_role(role: str, commands_per_s: float, core_s_per_command: float, memory_gib: float) -> Redis:
    """A role sized on its own: shards for its commands (one core each at 60%) and for its memory."""
    cores = commands_per_s * core_s_per_command
    by_cores = max(1, math.ceil(cores / (REDIS_CORE * TARGET_UTILISATION)))
    node, by_memory = node_for(memory_gib / by_cores)
    shards = max(by_cores, by_memory)
    node, _ = node_for(memory_gib / shards)
    return Redis(role, commands_per_s, cores, memory_gib, node, shards)


def max_connections(rds_class: str) -> int:
    gib = next(memory for name, _, memory in RDS_CLASSES if name == rds_class)
    return min(gib * 2**30 // 9_531_392, 5_000)


def needs(size: Size, m: Measured) -> Needs:
    storefront_ms = m.storefront_cores * 1000 / m.mix_requests_per_s
    postgres_ms = m.postgres_cores * 1000 / m.mix_requests_per_s
    storefront_vcpu = size.requests_per_s * storefront_ms / 1000 / TARGET_UTILISATION
    pods = max(2, math.ceil(storefront_vcpu / POD_VCPU))
    pods_max = max(HPA_MAX_PODS, math.ceil(pods * SURGE))
    pods_min = max(2, math.ceil(pods * OFF_PEAK_SHARE))
    pods_per_node = NODE[2]
    # reads are cached: PostgreSQL's share per request of the mix, or the orders' own cost, whichever is larger
    postgres_busy = max(size.requests_per_s * postgres_ms, size.orders_per_s * m.postgres_ms_per_order) / 1000
    postgres_vcpu = postgres_busy / TARGET_UTILISATION
    # Little's law at RDS Proxy: a server connection is busy for a transaction's wall time (a read: one autocommit
    # statement while the pool lends the connection; a checkout: its transaction), not its CPU time
    busy_connections = (
        size.requests_per_s * m.read_holds_per_request * m.read_hold_ms + size.orders_per_s * m.checkout_hold_ms
    ) / 1000
    rds = next(
        (
            name
            for name, vcpu, _ in RDS_CLASSES
            if vcpu >= postgres_vcpu
            and max_connections(name) * PROXY_MAX_CONNECTIONS_PERCENT / 100 * TARGET_UTILISATION >= busy_connections
        ),
        RDS_CLASSES[-1][0],
    )
    # carts: those created in a cart's TTL (the peak day's orders, CARTS_PER_ORDER each), of 1-3 lines
    cart_bytes = sum(m.cart_bytes[n] for n in CART_LINES) / len(CART_LINES)
    day_orders = size.orders_per_s * 3600 * PEAK_HOURS_PER_DAY * min(1.0, CART_TTL_SECONDS / 86_400)
    open_carts = day_orders * CARTS_PER_ORDER
    commands = m.redis_commands_per_request
    core_s_per_command = m.redis_cores / (m.mix_requests_per_s * sum(commands.values()))
    state = redis_role(
        "state", size.requests_per_s * commands["state"], core_s_per_command, open_carts * cart_bytes / 2**30
    )
    catalog = (CATALOG_PRODUCTS * m.redis_key_bytes["product"] + m.cache_other_bytes) / 2**30
    cache = redis_role("cache", size.requests_per_s * commands["cache"], core_s_per_command, catalog)
    # EMR: shuffle partitions from the bytes a run handles (curated bytes per line, measured), 4 vCPU per executor
    bytes_per_line = m.full_scan_bytes / SEED_LINES
    full_bytes = bytes_per_line * size.lines
    rebuild_partitions = max(4, math.ceil(full_bytes / PARTITION_BYTES))
    max_executors = max(1, math.ceil(rebuild_partitions / EMR_WORKER_VCPU))
    hourly_orders = size.orders_per_s * 3600
    beyond = max(0.0, hourly_orders - m.hourly_window_orders)
    hourly_seconds = m.hourly_refresh_s + beyond / 1000 * m.hourly_s_per_thousand_orders
    lines_per_order = sum(CART_LINES) / len(CART_LINES)
    hourly_partitions = max(1, math.ceil(hourly_orders * lines_per_order * bytes_per_line / PARTITION_BYTES))
    hourly_executors = max(1, math.ceil(hourly_partitions / EMR_WORKER_VCPU))
    # warm executors only where a cold start would delay a run that is long anyway
    initial = hourly_executors if hourly_seconds > 300 else 0
    extract_seconds = hourly_orders / m.extract_orders_per_s
    doorbuster = size.orders_per_s * DOORBUSTER_SHARE
    # its stock's slots: enough rows for its rate (each row at most what one row took, at the head-room target),
    # and for its concurrent checkouts (Little's law on a checkout's hold) at the buyers per slot measured
    concurrent_buyers = doorbuster * m.checkout_hold_ms / 1000
    slots = max(
        math.ceil(doorbuster / (m.hot_one_product_orders_per_s * TARGET_UTILISATION)),
        math.ceil(concurrent_buyers * m.hot_split_slots / m.hot_buyers),
    )
    # storefront pods are not among them: they scale out to the maxReplicas this plan sets
    loads = {
        f"PostgreSQL ({postgres_vcpu:.1f} vCPU needed, the largest class has {RDS_CLASSES[-1][1]})": postgres_vcpu
        / RDS_CLASSES[-1][1],
        f"the state Redis ({state.cores:.2f} cores of commands over its {state.shards} shard(s), one core each)":
        state.cores / (state.shards * REDIS_CORE),
        f"one doorbuster ({doorbuster:,.0f} orders/s wanted) over its {slots} slots (one row took "
        f"{m.hot_one_product_orders_per_s:,.0f})": doorbuster / (m.hot_one_product_orders_per_s * slots),
        f"the hourly run on 2 vCPU ({hourly_seconds / 60:.0f} of its 60 minutes)": hourly_seconds / 3600,
    }  # fmt: skip
    first = max(loads, key=loads.get)
    plan = Needs(
        size=size,
        storefront_vcpu=storefront_vcpu,
        pods=pods,
        pods_min=pods_min,
        pods_max=pods_max,
        nodes_min=max(AZS, math.ceil(pods_min / pods_per_node)),
        nodes_max=max(AZS, math.ceil(pods_max / pods_per_node)),
        postgres_vcpu=postgres_vcpu,
        rds_class=rds,
        max_connections=max_connections(rds),
        client_connections=pods_max * WORKERS_PER_POD * POOL_PER_WORKER,
        busy_server_connections=busy_connections,
        storage_gib=max(100, math.ceil(size.lines / 100_000 * STORAGE_GIB_PER_100K_LINES)),
        state=state,
        cache=cache,
        open_carts=open_carts,
        cart_bytes=cart_bytes,
        rebuild_vcpu_hours=size.lines / 1e6 * m.spark_s_per_million_lines * 2 / 3600,
        rebuild_partitions=rebuild_partitions,
        emr_max_executors=max_executors,
        hourly_orders=hourly_orders,
        hourly_seconds=hourly_seconds,
        hourly_partitions=hourly_partitions,
        hourly_executors=hourly_executors,
        hourly_vcpu_hours=hourly_seconds * 2 / 3600,
        emr_initial_executors=initial,
        extract_seconds=extract_seconds,
        full_scan_bytes=full_bytes,
        athena_cutoff_bytes=max(10 * 10**9, math.ceil(2 * full_bytes / 10**9) * 10**9),
        doorbuster_orders_per_s=doorbuster,
        doorbuster_slots=slots,
        first_to_saturate=f"{first}: {loads[first]:.0%} of its limit",
    )
    return Needs(**{**plan.__dict__, "costs": monthly_costs(plan, m)})


def monthly_costs(p: Needs, m: Measured) -> dict[str, float]:
    """$ per month: what the stack provisions for 730 hours, and what the size uses on PEAK_HOURS_PER_DAY peak
    hours a day for 30 days (requests, EMR runs; an upper bound for an ordinary month)."""
    hours, peak_hours = PRICES["hours_per_month"], PEAK_HOURS_PER_DAY * 30
    node_type = NODE[0]
    rds_vcpu = next(vcpu for name, vcpu, _ in RDS_CLASSES if name == p.rds_class)
    requests = p.size.requests_per_s * 3600 * peak_hours
    runs = 24 * 30
    lake_gb = p.full_scan_bytes * LAKE_COPIES / 1e9
    puts = runs * (math.ceil(p.hourly_orders / 10_000) + WRITES_PER_RUN)
    redis_nodes = [(p.state.node, p.state.nodes), (p.cache.node, p.cache.nodes)]
    # the peak's pods, not the HPA's ceiling (the surge above the plan is not an everyday cost)
    peak_nodes = max(p.nodes_min, math.ceil(p.pods / NODE[2]))
    return {
        "EKS: control plane, nodes": PRICES["eks_cluster_per_hour"] * hours
        + PRICES["ec2_per_hour"][node_type] * (p.nodes_min * hours + (peak_nodes - p.nodes_min) * peak_hours),
        "load balancer and WAF": PRICES["alb_per_hour"] * hours
        + PRICES["alb_per_lcu_hour"] * max(1.0, p.size.requests_per_s / 1000) * peak_hours
        + PRICES["waf_per_month"] + 4 * PRICES["waf_per_rule_month"]
        + requests / 1e6 * PRICES["waf_per_million_requests"],
        "RDS PostgreSQL Multi-AZ, storage, RDS Proxy": PRICES["rds_postgres_multi_az_per_hour"][p.rds_class] * hours
        + PRICES["rds_gp3_multi_az_per_gib_month"] * p.storage_gib
        + PRICES["rds_proxy_per_vcpu_hour"] * rds_vcpu * hours,
        "ElastiCache, both roles with replicas": sum(
            PRICES["elasticache_per_node_hour"][node] * count * hours for node, count in redis_nodes
        ),
        f"MWAA {MWAA_CLASS[0]}": PRICES["mwaa_environment_per_hour"][MWAA_CLASS[0]] * hours,
        "EMR Serverless: hourly runs (at the peak hour's size)": runs * p.hourly_vcpu_hours
        * (PRICES["emr_serverless_arm_per_vcpu_hour"]
           + EMR_WORKER_GB / EMR_WORKER_VCPU * PRICES["emr_serverless_arm_per_gb_hour"]),
        "S3: the lake, its writes and reads": lake_gb * PRICES["s3_standard_per_gb_month"]
        + puts / 1000 * PRICES["s3_put_per_1000"] + 10 * puts / 1000 * PRICES["s3_get_per_1000"],
        "Athena: the dashboard": DASHBOARD_REFRESHES_PER_DAY * 30 * m.dashboard_usd,
        "network: NAT gateways, interface endpoints": NAT_GATEWAYS * PRICES["nat_gateway_per_hour"] * hours
        + INTERFACE_ENDPOINTS * AZS * PRICES["interface_endpoint_per_az_hour"] * hours,
        "KMS keys, secrets, alarms": KEYS * PRICES["kms_key_per_month"] + SECRETS * PRICES["secret_per_month"]
        + ALARMS * PRICES["cloudwatch_alarm_per_month"],
    }  # fmt: skip


def gib(value: float) -> str:
    return f"{value:,.1f} GiB" if value >= 0.1 else f"{value * 1024:,.0f} MiB"


def sizes_document(plans: list[Needs]) -> dict:
    """infra/sizes.json: what each size's stacks deploy (infra/bfp_infra/sizes.py reads it)."""

    def redis(r: Redis, policy: str) -> dict:
        return {"node_type": r.node, "shards": r.shards, "replicas_per_shard": r.replicas, "maxmemory_policy": policy}

    return {
        "written_by": "python -m bench.capacity (make capacity-plan), from bench/results/: do not edit",
        "sizes": {
            p.size.name: {
                "storefront": {
                    "pods_min": p.pods_min, "pods_max": p.pods_max, "node_instance_type": NODE[0],
                    "nodes_min": p.nodes_min, "nodes_max": p.nodes_max,
                },
                "database": {
                    "instance_class": p.rds_class, "storage_gib": p.storage_gib, "max_connections": p.max_connections,
                    "proxy_max_connections_percent": PROXY_MAX_CONNECTIONS_PERCENT,
                },
                "state_redis": redis(p.state, "noeviction"),
                "cache_redis": redis(p.cache, "allkeys-lru"),
                "emr": {
                    "initial_executors": p.emr_initial_executors, "worker_vcpu": EMR_WORKER_VCPU,
                    "worker_memory_gb": EMR_WORKER_GB, "max_vcpu": EMR_WORKER_VCPU * (p.emr_max_executors + 1),
                    "max_memory_gb": EMR_WORKER_GB * (p.emr_max_executors + 1),
                    "shuffle_partitions": p.rebuild_partitions,
                },
                "mwaa": {"environment_class": MWAA_CLASS[0], "min_workers": 1, "max_workers": 2, "schedulers": 2},
                "athena_bytes_scanned_cutoff": p.athena_cutoff_bytes,
            }
            for p in plans
        },
    }  # fmt: skip


def render(m: Measured) -> str:
    plans = [needs(size, m) for size in SIZES]
    storefront_ms = m.storefront_cores * 1000 / m.mix_requests_per_s
    postgres_ms = m.postgres_cores * 1000 / m.mix_requests_per_s
    redis_ms = m.redis_cores * 1000 / m.mix_requests_per_s
    commands = m.redis_commands_per_request
    biggest_query = max(m.query_bytes, key=m.query_bytes.get)
    carts = ", ".join(f"{n} lines {b:,.0f} B" for n, b in sorted(m.cart_bytes.items()))
    rows = [
        ("purchase lines", lambda p: f"{p.size.lines / 1e6:,.1f}M"),
        ("storefront peak req/s; orders/s", lambda p: f"{p.size.requests_per_s:,.0f}; {p.size.orders_per_s:,.0f}"),
        ("storefront vCPU (at 60%); pods of 1 vCPU", lambda p: f"{p.storefront_vcpu:,.1f}; {p.pods}"),
        ("HPA min-max pods; EKS nodes min-max",
         lambda p: f"{p.pods_min}-{p.pods_max}; {p.nodes_min}-{p.nodes_max} x {NODE[0]}"),
        ("PostgreSQL vCPU (at 60%); RDS class (Multi-AZ)", lambda p: f"{p.postgres_vcpu:,.1f}; {p.rds_class}"),
        ("busy server connections (Little's law); max_connections",
         lambda p: f"{p.busy_server_connections:,.1f}; {p.max_connections:,}"),
        ("client connections into RDS Proxy (pods x workers x pool)", lambda p: f"{p.client_connections:,}"),
        ("state Redis: commands/s; cores", lambda p: f"{p.state.commands_per_s:,.0f}; {p.state.cores:.2f}"),
        ("state Redis: open carts; their memory", lambda p: f"{p.open_carts / 1e6:,.1f}M; {gib(p.state.memory_gib)}"),
        ("state Redis: shards x (1 + replicas) nodes",
         lambda p: f"{p.state.shards} x {1 + p.state.replicas} x {p.state.node}"),
        ("cache Redis: commands/s; cores", lambda p: f"{p.cache.commands_per_s:,.0f}; {p.cache.cores:.2f}"),
        ("cache Redis: the whole catalog; shards x (1 + replicas) nodes",
         lambda p: f"{gib(p.cache.memory_gib)}; {p.cache.shards} x {1 + p.cache.replicas} x {p.cache.node}"),
        ("full rebuild: shuffle partitions; EMR executors; vCPU-hours",
         lambda p: f"{p.rebuild_partitions}; {p.emr_max_executors}; {p.rebuild_vcpu_hours:.2f}"),
        ("hourly run: orders in a peak hour; minutes on 2 vCPU",
         lambda p: f"{p.hourly_orders:,.0f}; {p.hourly_seconds / 60:,.1f}"),
        ("hourly run: shuffle partitions; executors; warm executors",
         lambda p: f"{p.hourly_partitions}; {p.hourly_executors}; {p.emr_initial_executors}"),
        ("extract of a peak hour, one MWAA worker vCPU", lambda p: f"{p.extract_seconds:,.0f} s"),
        ("Athena: every column of curated.order_lines; per-query cutoff",
         lambda p: f"{p.full_scan_bytes / 1e9:,.2f} GB, ${cost_usd(int(p.full_scan_bytes)):.4f}; "
                   f"{p.athena_cutoff_bytes / 1e9:,.0f} GB"),
        ("one doorbuster: orders/s wanted; slots of its stock",
         lambda p: f"{p.doorbuster_orders_per_s:,.0f}; {p.doorbuster_slots}"),
    ]  # fmt: skip
    header = "| | " + " | ".join(p.size.name for p in plans) + " |\n|---|" + "---|" * len(plans) + "\n"
    table = "".join(f"| {label} | " + " | ".join(cell(p) for p in plans) + " |\n" for label, cell in rows)
    cost_rows = list(plans[0].costs)
    costs = (
        "".join(f"| {label} | " + " | ".join(f"${p.costs[label]:,.0f}" for p in plans) + " |\n" for label in cost_rows)
        + "| **total** | "
        + " | ".join(f"**${sum(p.costs.values()):,.0f}**" for p in plans)
        + " |\n"
    )
    first = "".join(f"- **{p.size.name}**: {p.first_to_saturate}.\n" for p in plans)
    sources = "".join(f"- `{name}`: {when}\n" for name, when in m.recorded.items())
    hot_ratio = m.hot_one_product_orders_per_s / m.hot_spread_orders_per_s
    peak = plans[-1]
    return f"""# Capacity plan

Written by `python -m bench.capacity` (`make capacity-plan`) from the figures the benchmarks kept in
`bench/results/` (their runs are in [benchmarks.md](benchmarks.md)), with the prices of `bench/prices.json`; it
writes the sizes the AWS stacks deploy too (`infra/sizes.json`, read by `infra/bfp_infra/sizes.py`: `make synth`,
`cdk deploy -c size=...`). `tests/test_capacity.py` fails when either no longer matches the kept figures. Do not
edit them by hand: re-run the benchmarks, then the script.

## What it rests on (measured on 2 cores)

- Storefront CPU per request of the shopper mix without think time: {storefront_ms:.3f} ms
  ({m.storefront_cores:.2f} cores at {m.mix_requests_per_s:,.1f} req/s, `make bench-serve`); PostgreSQL
  {postgres_ms:.3f} ms and Redis {redis_ms:.3f} ms per request in the same run.
- PostgreSQL per order (add to cart + checkout over HTTP): {m.postgres_ms_per_order:.2f} ms (`make bench-serve`).
- PostgreSQL connections, wall time a request holds its pooled connection (from the pool's lend to its return,
  `storefront_db_connection_hold_seconds`): a read {m.read_hold_ms:.2f} ms,
  {m.read_holds_per_request:.3f} per request of the mix; a checkout's transaction {m.checkout_hold_ms:.2f} ms, one
  per order (`make bench-serve`). Measured on a saturated 2-core machine, they include queueing for the CPU: an
  upper bound.
- Redis commands per request of the same mix (INFO commandstats around the run): state {commands["state"]:.2f},
  cache {commands["cache"]:.2f}; Redis CPU split between the roles by their commands. Memory (MEMORY USAGE): a
  cart filled through the API: {carts}; a cached product {m.redis_key_bytes["product"]:,.0f} B
  (`make bench-serve`).
- Spark: {m.spark_s_per_million_lines:.1f} s per million lines on 2 cores at {m.spark_scale} the seed's 1.8M lines (the
  cost per line falls with size; `make bench-transform SCALES=1,2,4`), taken as flat above it.
- The hourly refresh on a year-old lake: {m.hourly_refresh_s:.1f} s for a {m.hourly_window_orders:,}-order window, and
  {m.hourly_s_per_thousand_orders:.3f} s per 1,000 more orders up to a {m.hourly_largest_window:,}-order window
  (`make bench-hourly`; flat with the lake's age). Larger windows are extrapolated from that slope.
- The extract: {m.extract_orders_per_s:,.0f} orders/s in one process, {m.extract_peak_rss_mb:,.0f} MB at most
  (pages of 200,000 rows; `make bench-extract`).
- One hot product: the checkout transaction from {m.hot_buyers} connections, every buyer on one product:
  {m.hot_one_product_orders_per_s:,.1f} orders/s on one row, against {m.hot_spread_orders_per_s:,.1f} over 100
  products (ratio {hot_ratio:.2f}; every order of it waits for the row's lock, held through the commit's WAL
  flush), and {m.hot_split_orders_per_s:,.1f} with its stock split over {m.hot_split_slots} slots (ratio
  {m.hot_split_orders_per_s / m.hot_spread_orders_per_s:.2f}; `make bench-hot-product`).
- Athena: bytes each canonical query scans on the full-scale lake (the Parquet column chunks of the partitions
  it reads, from DuckDB's profile, `make bench-query`): the largest is `{biggest_query}` with
  {m.query_bytes[biggest_query]:,} bytes; a dashboard refresh runs {m.dashboard_queries} queries scanning
  {m.dashboard_bytes:,} bytes (${m.dashboard_usd:.4f}, each billed the 10 MB minimum); every column of
  curated.order_lines is {m.full_scan_bytes:,} bytes at 1.8M lines.

Recorded:
{sources}
## Needs by size

Load: the seed (1.8M lines, its load test's 637 req/s), 10x, and 100x (180M lines; a Black Friday peak of
50,000 req/s and 2,000 orders/s); orders per request as at the peak (4%). Head-room: every CPU figure is
sized for {TARGET_UTILISATION:.0%} utilisation, the HPA's target; ElastiCache memory for {NODE_MEMORY_USE:.0%} of a
node. Assumptions (constants of `bench/capacity.py`, each named here): the HPA may go {SURGE - 1:.0%} past the
peak and the quietest hours need {OFF_PEAK_SHARE:.0%} of its pods; the Black Friday day equals
{PEAK_HOURS_PER_DAY} hours at the peak rate; {CARTS_PER_ORDER:.1f} carts per order (70% abandoned), each of 1 to 3
lines equally often, kept for the cart TTL ({CART_TTL_SECONDS // 3600} h, `serving/config.py`); an order has
{sum(CART_LINES) / len(CART_LINES):.0f} lines; {STORAGE_GIB_PER_100K_LINES} GiB of PostgreSQL storage per 100,000 lines;
one doorbuster takes {DOORBUSTER_SHARE:.0%} of the orders.

{header}{table}
How each line is computed:

- **Connections, Little's law.** RDS Proxy lends a server connection for a transaction: busy server
  connections = reads/s x a read's hold + checkouts/s x a checkout's hold. The RDS class is the smallest with
  the vCPU and with {PROXY_MAX_CONNECTIONS_PERCENT}% of its max_connections (the proxy's share) at
  {TARGET_UTILISATION:.0%} above that. The pods' own pools (2 workers x 8) are the client side, multiplexed.
- **Redis, each role on its own**, with a replica per shard in the other AZ: shards for its commands (one core
  each, at {TARGET_UTILISATION:.0%}) and for its memory; the state role never evicts, so it holds every open cart;
  the cache role holds the whole catalog (it evicts past that). More than one shard means cluster mode.
- **EMR**: shuffle partitions = the bytes a run handles (curated bytes per line, measured, x lines) / 128 MiB,
  4 per executor of 4 vCPU; on EMR the job gets the rebuild's partitions as its bound and Spark's AQE sizes
  each shuffle from its bytes (`BFP_SPARK_CONF`, set by the stack). The largest run (the full rebuild) gives
  the application's maximum capacity; executors are kept warm only where the peak hour's run is long.
- **MWAA**: {MWAA_CLASS[0]} at every size: the tasks orchestrate (Spark runs on EMR, queries on Athena); the
  heaviest work on a worker is the extract, one process at {m.extract_orders_per_s:,.0f} orders/s and at most
  {m.extract_peak_rss_mb:,.0f} MB: the 100x peak hour's extract takes {peak.extract_seconds:,.0f} s of one vCPU,
  {peak.extract_seconds / 3600:.0%} of the hour (goal <= {EXTRACT_SHARE:.0%}), within a worker's
  {MWAA_CLASS[2]} GiB.
- **Hot product**: on the 100x morning one doorbuster wants {peak.doorbuster_orders_per_s:,.0f} orders/s, about
  {peak.doorbuster_orders_per_s * m.checkout_hold_ms / 1000:,.0f} checkouts of it at once (Little's law on a
  checkout's {m.checkout_hold_ms:.0f} ms); one product's row took {m.hot_one_product_orders_per_s:,.0f} on this
  machine and {m.hot_split_slots} slots carried {m.hot_buyers} buyers at once, so its stock goes into
  {peak.doorbuster_slots} slots before the sale (`PUT /api/v1/admin/products/{{id}}/stock-slots`, the larger of
  the rate's and the buyers' need; serving/README.md). Unsplit, the storefront answers the excess 503 after its
  lock timeout (1 s) rather than queueing every connection behind the row.

## Cost per month (USD)

List prices of {PRICES["region"]}, on-demand, as of {PRICES["as_of"]} (`bench/prices.json`): what each size's
stack provisions for {PRICES["hours_per_month"]} hours, plus what it uses on {PEAK_HOURS_PER_DAY} peak hours a day
for 30 days (the nodes the peak's pods need past the minimum, requests, the hourly EMR runs at the peak hour's
size: an upper bound for an ordinary month). Data transfer out, NAT data processing and CloudWatch Logs volume
are not included.

| | {" | ".join(p.size.name for p in plans)} |
|---|{"---|" * len(plans)}
{costs}
## The first component to saturate

{first}
Storefront pods scale out (the HPA's maxReplicas comes from this plan, and the cluster autoscaler adds the
nodes); PostgreSQL scales up a class at a time and its reads are already cached, so orders and the time they
hold connections are its cost; a Redis role past {TARGET_UTILISATION:.0%} of a core moves to cluster mode (keys
are per product, per listing page and per cart: they spread over shards; the storefront's client speaks to one
shard today, so that is the change such a size needs first). The state role never evicts (carts are not
cache): the cart TTL is the lever on its memory. The hourly run grows with the orders in its window, not with
the lake.

## Not measured here

- Athena's own planning and the S3 request counts (DuckDB reads local files): the bytes are the Parquet column
  chunks it would read, the billing unit; the writes per run are an assumption ({WRITES_PER_RUN} besides the
  buckets).
- Windows larger than {m.hourly_largest_window:,} orders, carts' real abandonment rate, the day's shape around
  its peak, and the rate-limit counters' memory (one per client and limit, for at most an hour).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/capacity.md is out of date")
    args = parser.parse_args(argv)
    figures = measured(load_results())
    text = render(figures)
    sizes = json.dumps(sizes_document([needs(size, figures) for size in SIZES]), indent=2) + "\n"
    if args.check:
        stale = [path.relative_to(ROOT) for path, want in ((PLAN, text), (SIZES_FILE, sizes))
                 if not path.exists() or path.read_text() != want]  # fmt: skip
        if stale:
            sys.stderr.write(f"{', '.join(map(str, stale))} do not match bench/results/: run make capacity-plan\n")
            return 1
        return 0
    PLAN.write_text(text)
    SIZES_FILE.write_text(sizes)
    sys.stderr.write(f"wrote {PLAN.relative_to(ROOT)} and {SIZES_FILE.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
