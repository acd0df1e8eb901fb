"""docs/capacity.md is computed from the figures docs/benchmarks.md records (bench/capacity.py): it fails when
the plan no longer matches them, and the plan's arithmetic is checked on figures of its own."""

from __future__ import annotations

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
    )
    peak = capacity.needs(capacity.Size("peak", 100_000_000, 50_000, 2_000), measured)
    assert peak.storefront_vcpu == 50_000 * 1.2 / 1000 / 0.6 and peak.pods == 100
    assert peak.postgres_vcpu == max(50_000 * 0.1, 2_000 * 1.0) / 1000 / 0.6 and peak.rds_class == "db.r6g.4xlarge"
    assert peak.redis_cores == 2.5 and peak.redis_shards == 5
    assert peak.rebuild_vcpu_hours == 100 * 20 * 2 / 3600 and peak.hourly_vcpu_hours == 0.02
    assert peak.first_to_saturate.startswith("storefront pods (100 needed")
