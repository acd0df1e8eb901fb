"""docs/capacity.md is computed from the figures docs/benchmarks.md records (bench/capacity.py): it fails when
the plan no longer matches them, and the plan's arithmetic is checked on figures of its own."""

from __future__ import annotations

import math

from bench import capacity


def test_the_capacity_plan_matches_the_recorded_benchmark_figures():
    expected = capacity.render(capacity.measured(capacity.BENCHMARKS.read_text()))
    assert capacity.PLAN.read_text() == expected, "run make capacity-plan (docs/capacity.md is stale)"


def test_needs_follow_the_measured_costs():
    measured = capacity.Measured(
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
        redis_key_bytes={"cart": 300, "product": 1_000},
        query_bytes={"q": 50_000},
        full_scan_bytes=68_000_000,  # at the seed's 1.8M lines
        hourly_window_orders=400,
        hourly_s_per_thousand_orders=0.5,
        hourly_largest_window=400_000,
    )
    peak = capacity.needs(capacity.Size("peak", 100_000_000, 50_000, 2_000), measured)
    assert peak.storefront_vcpu == 50_000 * 1.2 / 1000 / 0.6 and peak.pods == 100
    assert peak.postgres_vcpu == max(50_000 * 0.1, 2_000 * 1.0) / 1000 / 0.6 and peak.rds_class == "db.r6g.4xlarge"
    assert peak.redis_cores == 2.5 and peak.redis_shards == 5
    assert peak.rebuild_vcpu_hours == 100 * 20 * 2 / 3600
    # the hourly run: the measured window's time plus the slope for the rest of a peak hour's orders
    assert peak.hourly_orders == 2_000 * 3600
    assert peak.hourly_seconds == 36 + (2_000 * 3600 - 400) / 1000 * 0.5
    assert peak.hourly_vcpu_hours == peak.hourly_seconds * 2 / 3600
    assert peak.redis_ops == {"state": 25_000, "cache": 100_000}
    assert peak.open_carts == 2_000 / 0.3 * 86_400
    assert peak.cart_memory_gib == peak.open_carts * 300 / 2**30  # ~161 GiB
    assert peak.state_nodes == "1 x cache.r7g.12xlarge"  # 75% of 317.77 GiB holds it, 75% of 209.55 does not
    assert capacity.node_for(1_000) == ("cache.r7g.16xlarge", math.ceil(1_000 / (419.09 * 0.75)))
    assert peak.catalog_cache_gib == capacity.CATALOG_PRODUCTS * 1_000 / 2**30
    assert peak.full_scan_bytes == 68_000_000 * 100_000_000 / 1_800_000
    assert peak.first_to_saturate.startswith("storefront pods (100 needed")
