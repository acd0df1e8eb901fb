"""docs/capacity.md and infra/sizes.json are computed from the figures docs/benchmarks.md records
(bench/capacity.py): it fails when either no longer matches them, and the plan's arithmetic is checked on figures
of its own."""

from __future__ import annotations

import json
import math

from bench import capacity


def test_the_plan_and_the_stacks_sizes_match_the_recorded_benchmark_figures():
    figures = capacity.measured(capacity.load_results())
    assert capacity.PLAN.read_text() == capacity.render(figures), "run make capacity-plan (docs/capacity.md is stale)"
    written = json.loads(capacity.SIZES_FILE.read_text())
    assert written == capacity.sizes_document([capacity.needs(size, figures) for size in capacity.SIZES]), (
        "run make capacity-plan (infra/sizes.json is stale)"
    )
    assert capacity.main(["--check"]) == 0


MEASURED = capacity.Measured(
    mix_requests_per_s=1000,
    storefront_cores=1.2,  # 1.2 ms of storefront CPU per request
    postgres_cores=0.1,
    redis_cores=0.05,
    postgres_ms_per_order=1.0,
    spark_s_per_million_lines=20,
    spark_scale="4x",
    hourly_refresh_s=36,
    recorded={},
    redis_commands_per_request={"state": 0.5, "cache": 2.0},
    redis_key_bytes={"product": 1_000},
    cache_other_bytes=2**20,
    cart_bytes={1: 70, 2: 90, 3: 110},
    read_hold_ms=2.0,
    read_holds_per_request=0.25,
    checkout_hold_ms=10.0,
    query_bytes={"q": 50_000},
    dashboard_usd=0.0015,
    full_scan_bytes=67_108_864,  # at the seed's 1.8M lines: 37.28 B a line
    hourly_window_orders=400,
    hourly_s_per_thousand_orders=0.5,
    hourly_largest_window=400_000,
    extract_orders_per_s=200_000,
    extract_peak_rss_mb=480,
    hot_one_product_orders_per_s=100,
    hot_spread_orders_per_s=400,
    hot_split_orders_per_s=380,
    hot_split_slots=16,
    hot_buyers=50,
)


def test_needs_follow_the_measured_costs():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    assert peak.storefront_vcpu == 50_000 * 1.2 / 1000 / 0.6 and peak.pods == 100
    assert (peak.pods_min, peak.pods_max) == (25, 125)  # a quarter off-peak, a quarter past the peak
    assert (peak.nodes_min, peak.nodes_max) == (math.ceil(25 / 3), math.ceil(125 / 3))
    assert peak.postgres_vcpu == max(50_000 * 0.1, 2_000 * 1.0) / 1000 / 0.6
    # the hourly run: the measured window's time plus the slope for the rest of a peak hour's orders
    assert peak.hourly_orders == 2_000 * 3600
    assert peak.hourly_seconds == 36 + (2_000 * 3600 - 400) / 1000 * 0.5
    assert peak.hourly_vcpu_hours == peak.hourly_seconds * 2 / 3600
    assert peak.first_to_saturate == "the hourly run on 2 vCPU (61 of its 60 minutes): 101% of its limit"


def test_a_doorbusters_stock_is_split_for_its_rate_and_for_its_concurrent_buyers():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    # 200 orders/s on rows that take 100 each, at 60%: 4 slots; 200/s x 10 ms = 2 buyers at once need 1
    assert peak.doorbuster_orders_per_s == 200 and peak.doorbuster_slots == 4
    # a checkout held 200 ms: 40 buyers at once, at 16 slots per 50 buyers measured: 13 slots
    slow = capacity.needs(
        capacity.Size("peak", 180_000_000, 50_000, 2_000),
        capacity.Measured(**MEASURED.__dict__ | {"checkout_hold_ms": 200}),
    )
    assert slow.doorbuster_slots == math.ceil(200 * 0.2 * 16 / 50) == 13


def test_connections_follow_littles_law_on_the_wall_time_held():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    # reads: 50,000/s x 0.25 holds x 2 ms; checkouts: 2,000/s x 10 ms
    assert peak.busy_server_connections == 50_000 * 0.25 * 2 / 1000 + 2_000 * 10 / 1000 == 45
    # the class also leaves the proxy's 90% of max_connections at 60% above the busy ones
    assert peak.max_connections * 0.9 * 0.6 >= peak.busy_server_connections
    assert capacity.max_connections("db.r6g.large") == 16 * 2**30 // 9_531_392
    assert capacity.max_connections("db.r6g.16xlarge") == 5_000
    assert peak.client_connections == 125 * 2 * 8
    # where reads hold connections long and cost little CPU, the connections choose the class
    cheap_but_slow = {"postgres_cores": 0.001, "postgres_ms_per_order": 0.01, "read_hold_ms": 100}
    slow = capacity.needs(
        capacity.Size("peak", 180_000_000, 50_000, 2_000), capacity.Measured(**MEASURED.__dict__ | cheap_but_slow)
    )
    assert slow.busy_server_connections == 50_000 * 0.25 * 100 / 1000 + 20 == 1270
    assert slow.postgres_vcpu < 2 and slow.rds_class == "db.r6g.xlarge"  # the large's 1,802 x 0.54 is too few


def test_carts_are_the_peak_days_orders_of_one_to_three_lines():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    assert peak.open_carts == 2_000 * 3600 * capacity.PEAK_HOURS_PER_DAY / 0.3
    assert peak.cart_bytes == 90  # the mean of carts of 1, 2 and 3 lines
    assert peak.state.memory_gib == peak.open_carts * 90 / 2**30
    assert peak.open_carts < 340_000_000  # fewer than people in the US: the 24 h peak no longer held


def test_each_redis_role_is_sized_on_its_own_with_replicas():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    per_command = 0.05 / (1000 * 2.5)
    assert peak.state.commands_per_s == 25_000 and peak.cache.commands_per_s == 100_000
    assert math.isclose(peak.state.cores, 25_000 * per_command) and math.isclose(
        peak.cache.cores, 100_000 * per_command
    )
    assert peak.cache.shards == math.ceil(peak.cache.cores / 0.6) == 4  # cores decide the cache role
    assert peak.state.shards == 1 and peak.state.node == capacity.node_for(peak.state.memory_gib)[0]
    assert peak.state.nodes == 2 and peak.cache.nodes == 8  # a replica per shard
    assert capacity.node_for(1_000) == ("cache.r7g.16xlarge", math.ceil(1_000 / (419.09 * 0.75)))
    big = capacity.redis_role("state", 1_000, 0.00001, 600)  # memory decides: two shards of the largest node
    assert (big.shards, big.node) == (2, "cache.r7g.16xlarge")  # 300 GiB a shard: past 75% of the 12xlarge


def test_emr_is_sized_from_the_bytes_a_run_shuffles():
    peak = capacity.needs(capacity.Size("peak", 180_000_000, 50_000, 2_000), MEASURED)
    per_line = 67_108_864 / 1_800_000
    assert peak.rebuild_partitions == math.ceil(180_000_000 * per_line / 2**27)
    assert peak.emr_max_executors == math.ceil(peak.rebuild_partitions / 4)
    assert peak.hourly_partitions == math.ceil(2_000 * 3600 * 2 * per_line / 2**27)
    assert peak.emr_initial_executors == peak.hourly_executors  # the peak hour's run is long: kept warm
    seed = capacity.needs(capacity.SIZES[0], MEASURED)
    assert seed.rebuild_partitions == 4 and seed.emr_initial_executors == 0


def test_costs_and_the_stacks_sizes_come_from_the_same_needs():
    plans = [capacity.needs(size, MEASURED) for size in capacity.SIZES]
    totals = [sum(p.costs.values()) for p in plans]
    assert totals == sorted(totals) and all(value > 0 for p in plans for value in p.costs.values())
    prices = capacity.PRICES
    seed = plans[0]
    assert seed.costs["RDS PostgreSQL Multi-AZ, storage, RDS Proxy"] == (
        prices["rds_postgres_multi_az_per_hour"][seed.rds_class] * 730
        + prices["rds_gp3_multi_az_per_gib_month"] * seed.storage_gib
        + prices["rds_proxy_per_vcpu_hour"] * 2 * 730
    )
    document = capacity.sizes_document(plans)["sizes"]
    assert list(document) == ["seed", "10x", "100x"]
    for plan in plans:
        size = document[plan.size.name]
        assert size["database"]["instance_class"] == plan.rds_class
        assert size["state_redis"] == {
            "node_type": plan.state.node, "shards": plan.state.shards, "replicas_per_shard": 1,
            "maxmemory_policy": "noeviction",
        }  # fmt: skip
        assert size["cache_redis"]["maxmemory_policy"] == "allkeys-lru"
        assert size["storefront"]["pods_max"] == plan.pods_max
        assert size["emr"]["max_vcpu"] == 4 * (plan.emr_max_executors + 1)
        assert size["emr"]["shuffle_partitions"] == plan.rebuild_partitions
