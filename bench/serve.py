"""Storefront load benchmark: Locust shoppers at 1..500 users, the bare-Flask ceiling vs the cached product
endpoint (wrk; under gunicorn gthread and under granian, side by side), checkout throughput vs the same
transaction straight into PostgreSQL, the worst staleness of a product change, and the cache hit rate, on the
full 873K-product catalog.

Usage: python -m bench.serve [--users 1,10,100,250,500] [--seconds 20]
Everything runs on this machine: gunicorn (serving/gunicorn.conf.py), Postgres, Redis, Locust and wrk share
the cores, so the figures are a floor for a real deployment, and the ceiling ratio is what carries over.
Works in a scratch database (bfp_bench_serve) and Redis database 2, so the demo's data is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.checkout_floor import raw_checkouts, synchronous_commit
from bench.cpu_split import cpu_split
from bench.generate import recreate_database
from bench.harness import Outcome, add_strict
from bench.redis_usage import cart_bytes, counting, footprint
from bench.shopper_mix import SHOPPER_WAIT_SECONDS
from bench.staleness import worst_staleness
from datagen import purchases
from datagen.load import load_catalog
from serving.migrate import apply_migrations
from support.gunicorn import running_gunicorn
from support.net import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BENCH_DB = "bfp_bench_serve"
HOT_PRODUCTS = 2_000  # the Black Friday "doorbusters" most traffic goes to
FULL_PRODUCTS = purchases.SCALES["full"].products
WORKERS = os.environ.get("BFP_WORKERS", str(2 * (os.cpu_count() or 1)))
THREADS = os.environ.get("BFP_THREADS", "8")
ADMIN_TOKEN = secrets.token_hex(16)
CHECKOUT_USERS = 50
CAPACITY_USERS = 250


def log(message: str) -> None:
    print(f"bench-serve: {message}", file=sys.stderr, flush=True)


def ensure_catalog(database_url: str, csv_path: Path) -> str:
    """The bench database with the full catalog; generated and loaded only when it is not there yet."""
    bench_url = database_url.rsplit("/", 1)[0] + "/" + BENCH_DB
    loaded = 0
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(bench_url, autocommit=True) as conn:
        loaded = conn.execute("SELECT count(*) FROM products").fetchone()[0]
    if loaded >= FULL_PRODUCTS:
        # a catalog loaded by an earlier round lacks the migrations added since (the storefront would 500)
        applied = apply_migrations(bench_url)
        log(f"reusing the full catalog in {BENCH_DB}" + (f" (migrated: {', '.join(applied)})" if applied else ""))
        return bench_url
    log(f"loading the full catalog ({FULL_PRODUCTS:,} products) into {BENCH_DB}; about a minute, once")
    recreate_database(database_url, BENCH_DB)
    apply_migrations(bench_url)
    if not csv_path.exists():
        purchases.write_purchases_csv(
            purchases.generate_purchases(purchases.SCALES["full"], purchases.DEFAULT_SEED), csv_path
        )
    load_catalog(csv_path, bench_url, csv_path.parent / "quarantine")
    return bench_url


def catalog_sample(bench_url: str, path: Path) -> dict:
    """Category codes and a hot product set (stock raised so checkouts never run out), saved for Locust."""
    with psycopg.connect(bench_url, autocommit=True) as conn:
        categories = [row[0] for row in conn.execute("SELECT code FROM categories ORDER BY code")]
        hot = [
            row[0] for row in conn.execute("SELECT id FROM products ORDER BY md5(id::text) LIMIT %s", (HOT_PRODUCTS,))
        ]
        conn.execute("UPDATE products SET stock = 10000000 WHERE id = ANY(%s)", (hot,))
        conn.execute("DELETE FROM checkout_idempotency_keys; DELETE FROM order_items; DELETE FROM orders")
        conn.execute("VACUUM ANALYZE products")
    sample = {"categories": categories, "hot_products": hot}
    path.write_text(json.dumps(sample))
    return sample


def parse_with_services(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Adds the options every storefront benchmark shares (database, Redis, the purchases file) and parses."""
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:56379/0"))
    parser.add_argument("--cache-redis-url", default=os.environ.get("BFP_CACHE_REDIS_URL", "redis://127.0.0.1:56380/0"))
    parser.add_argument("--purchases", type=Path, default=Path("data/bench/amazon-purchases.csv"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url (make services-up prints it)")
    return args


def bench_environment(
    database_url: str, redis_url: str, cache_redis_url: str, purchases_csv: Path, out: Path
) -> tuple[str, dict, dict]:
    """(bench database URL, catalog sample, the storefront's environment): the full catalog in its own database,
    Redis database 2 emptied, the sample saved for Locust."""
    bench_url = ensure_catalog(database_url, purchases_csv)
    sample_path = out / "catalog.json"
    sample = catalog_sample(bench_url, sample_path)
    bench_redis, bench_cache = (url.rsplit("/", 1)[0] + "/2" for url in (redis_url, cache_redis_url))
    for url in (bench_redis, bench_cache):
        redis.Redis.from_url(url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "REDIS_URL": bench_redis,
        "BFP_CACHE_REDIS_URL": bench_cache,
        "BFP_SECRET_KEY": secrets.token_hex(32),
        "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
        "BFP_BENCH_CATALOG": str(sample_path),
        # Locust shoppers share few sessions and buy far faster than people: lift the per-shopper limit.
        "BFP_CHECKOUT_RATE_LIMIT": "1000000 per minute",
        # ... and every simulated shopper comes from 127.0.0.1: lift the per-address limits too
        "BFP_NEW_SHOPPER_RATE_LIMIT": "1000000 per minute",
        "BFP_SEARCH_RATE_LIMIT": "1000000 per minute",
    }
    return bench_url, sample, env


def warm_hot_set(url: str, hot_products: list[int]) -> None:
    """Steady state: the hot set is in Redis, as after minutes of traffic."""
    with requests.Session() as session:
        for product_id in hot_products:
            session.get(f"{url}/api/v1/products/{product_id}", timeout=10)


class Running(NamedTuple):
    url: str
    pid: int  # the server's main process (its workers are its children)
    internal_url: str  # metrics, probes and admin (gunicorn's internal listener; granian's one listener)


@contextlib.contextmanager
def server(kind: str, env: dict[str, str], app: str | None = None) -> Iterator[Running]:
    """The storefront (or `app`) under gunicorn with the storefront's production config (support/gunicorn.py, as
    the tests and drills start it), or under granian with the same workers, threads per worker and an access
    log."""
    metrics_dir = tempfile.mkdtemp(prefix="bfp-bench-metrics-")
    env = {**env, "BFP_ACCESS_LOG": "/dev/null", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    try:
        if kind == "gunicorn":
            with running_gunicorn(env, Path(metrics_dir) / "gunicorn.log", app=app) as running:
                yield Running(running.url, running.process.pid, running.internal_url)
        else:
            with granian(env, app) as running:
                yield running
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


@contextlib.contextmanager
def granian(env: dict[str, str], app: str | None) -> Iterator[Running]:
    """granian binds one port: the app serves every path (probes and admin too) on it."""
    port = free_port()
    env = {key: value for key, value in env.items() if key != "BFP_INTERNAL_BIND"}
    command = [
        str(BIN / "granian"),
        *("--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", WORKERS, "--blocking-threads", THREADS, "--access-log", "--log-level", "warning"),
        *(["--factory", "serving:create_app"] if app is None else [app]),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    probe = url + ("/ping" if app else "/readyz")

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"granian exited with {process.returncode}: run {' '.join(command)} to see why")
        try:
            return requests.get(probe, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(ready, 60, f"granian to answer {probe}")
        yield Running(url, process.pid, url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wrk(url: str, seconds: int, connections: int = 64) -> dict[str, float]:
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    return {"rps": rate, "p99_ms": p99_ms, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


def _samples(url: str) -> list:
    """Every sample the storefront's /metrics shows (summed over its workers), read by prometheus_client's parser."""
    text = requests.get(url + "/metrics", timeout=10).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def cache_counts(url: str) -> tuple[float, float]:
    """(hits, misses) of the product and category caches so far, summed over the workers."""
    counts = {"hit": 0.0, "near_hit": 0.0, "miss": 0.0}
    for sample in _samples(url):
        if sample.name == "storefront_cache_requests_total" and sample.labels.get("result") in counts:
            counts[sample.labels["result"]] += sample.value
    return counts["hit"] + counts["near_hit"], counts["miss"]


def connection_holds(url: str) -> dict[str, tuple[float, float]]:
    """kind -> (seconds held in total, holds) of pooled PostgreSQL connections so far, summed over the workers."""
    held = {kind: [0.0, 0.0] for kind in ("read", "checkout")}
    for sample in _samples(url):
        kind = sample.labels.get("kind")
        if kind in held and sample.name == "storefront_db_connection_hold_seconds_sum":
            held[kind][0] += sample.value
        elif kind in held and sample.name == "storefront_db_connection_hold_seconds_count":
            held[kind][1] += sample.value
    return {kind: (total, count) for kind, (total, count) in held.items()}


def hold_ms(before: dict, after: dict, kind: str) -> float:
    """Mean wall milliseconds of a `kind` connection hold between two snapshots (0 when none)."""
    holds = after[kind][1] - before[kind][1]
    return 1000 * (after[kind][0] - before[kind][0]) / holds if holds else 0.0


def holds_line(before: dict, after: dict, per: float, unit: str) -> str:
    """Wall time per connection hold (a transaction, or one autocommit statement) and holds per `unit`."""
    parts = []
    for kind in ("read", "checkout"):
        seconds = after[kind][0] - before[kind][0]
        holds = after[kind][1] - before[kind][1]
        if holds:
            parts.append(f"{kind} {1000 * seconds / holds:.2f} ms x {holds / per:.3f} per {unit}")
    return "PostgreSQL connection held (wall): " + ("; ".join(parts) or "none")


def locust_command(url: str, users: int, seconds: int, user_class: str, *options: str) -> list[str]:
    """A headless Locust run of `user_class` (bench/locustfile.py) against `url`, ramping 100 users a second."""
    return [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(min(users, 100)),
        "--run-time",
        f"{seconds}s",
        "--host",
        url,
        "--loglevel",
        "WARNING",
        *options,
        user_class,
    ]


def locust(url: str, users: int, seconds: int, user_class: str, env: dict[str, str], out: Path) -> dict:
    """One headless Locust run; returns the aggregated row and the failures by status."""
    prefix = out / f"{user_class}-{users}"
    subprocess.run(
        locust_command(url, users, seconds, user_class, "--reset-stats", "--csv", str(prefix)),
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    failures: dict[str, int] = {}
    with open(f"{prefix}_failures.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            failures[row["Error"]] = failures.get(row["Error"], 0) + int(row["Occurrences"])
    return {"rows": rows, "total": rows["Aggregated"], "failures": failures}


def status_count(failures: dict[str, int], predicate) -> int:
    total = 0
    for error, count in failures.items():
        match = re.search(r"status (\d+)", error)
        if match is None or predicate(int(match.group(1))):
            total += count  # a connection error counts as a server-side failure too
    return total


CPU_LABELS = {"storefront": "storefront", "postgres": "PostgreSQL", "redis": "Redis", "locust": "Locust"}


def cores_line(cores: dict[str, float]) -> str:
    """Cores used on average by each group during a step (the floor's driver is this process)."""
    labels = {**CPU_LABELS, "this process": "floor driver"}
    return "cores " + ", ".join(f"{labels[g]} {cores[g]:.2f}" for g in labels if cores.get(g, 0) >= 0.01)


def per_order_ms(cores: dict[str, float], orders_per_s: float) -> str:
    labels = {**CPU_LABELS, "this process": "floor driver"}
    return ", ".join(f"{labels[g]} {1000 * cores[g] / orders_per_s:.2f} ms" for g in labels if cores.get(g, 0) >= 0.01)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1,10,100,250,500", help="comma-separated Locust user counts")
    parser.add_argument("--seconds", type=int, default=20, help="Locust run time per user count")
    parser.add_argument("--wrk-seconds", type=int, default=5)
    add_strict(parser)
    return parse_with_services(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    outcome = Outcome("bench-serve")
    out = Path(tempfile.mkdtemp(prefix="bfp-bench-serve-"))
    bench_url, sample, env = bench_environment(
        args.database_url, args.redis_url, args.cache_redis_url, args.purchases, out
    )
    log(f"{WORKERS} workers x {THREADS} threads (gunicorn gthread; granian alongside); {os.cpu_count()} cores")
    hot = sample["hot_products"]
    with (
        server("gunicorn", env, app="bench.ceiling_app:app") as (ceiling_url, *_),
        server("gunicorn", env) as (url, _, internal_url),
    ):
        warm_hot_set(url, hot)
        best = wrk_rounds(env, ceiling_url, url, hot, args.wrk_seconds)
        log("staleness: 20 price/stock changes while 16 connections read the product")
        staleness = worst_staleness(url, internal_url, hot[1], ADMIN_TOKEN, bench_url)
        levels = shopper_levels(url, internal_url, env, out, [int(n) for n in args.users.split(",")], args.seconds)
        mix = shoppers_without_pause(url, internal_url, env, out, hot, args.seconds)
        log(f"locust: the bare-Flask ceiling, {CAPACITY_USERS} users without pause")
        with cpu_split() as ceiling_cpu:
            ceiling_locust = locust(ceiling_url, CAPACITY_USERS, args.seconds, "Ping", env, out)
        checkout = checkout_throughput(url, internal_url, env, out, bench_url, args.seconds)
    with server("gunicorn", env, app="bench.checkout_ceiling_app:app") as (checkout_ceiling_url, *_):
        log("locust: the checkout ceiling, bare Flask with the same transaction")
        checkout_ceiling = checkout_throughput(checkout_ceiling_url, None, env, out, bench_url, args.seconds)
    log(f"checkout floor: the same transaction straight into PostgreSQL, {CHECKOUT_USERS} connections")
    floor = raw_checkouts(bench_url, hot, CHECKOUT_USERS, args.seconds)
    with psycopg.connect(bench_url, autocommit=True) as conn:
        oversold = conn.execute("SELECT count(*) FROM products WHERE stock < 0").fetchone()[0]

    ceiling = best[("gunicorn", "ceiling")]["rps"]
    report_levels(levels, ceiling, args.seconds)
    mix_ratio = report_mix(mix, ceiling, outcome)
    report_ceiling_under_locust(
        ceiling_locust, ceiling_cpu, ceiling, float(mix["result"]["total"]["Requests/s"]), outcome
    )
    checkout_ratio = report_checkout(checkout, floor, bench_url, oversold, args.seconds, outcome)
    report_checkout_ceiling(checkout_ceiling, checkout["orders"], floor, args.seconds, outcome)
    detail_ratios = report_wrk(best, args.wrk_seconds)
    report_staleness(staleness)
    print(f"\nraw Locust CSVs: {out}")
    outcome.figure("ceiling_requests_per_s", ceiling)
    outcome.goal("checkout over HTTP / the same transaction straight into PostgreSQL", checkout_ratio, ">=", 0.5)
    outcome.goal("the shoppers' mix without think time / the bare-Flask ceiling", mix_ratio, ">=", 0.30)
    for srv, ratio in detail_ratios.items():
        outcome.goal(f"cached product detail / the ceiling, {srv}", ratio, ">=", 0.75)
    # Guarantees and controls: a broken one, or a probe that could not see what it measures, fails the run (and
    # bench/record.py keeps the old figures); a missed goal above is recorded.
    outcome.control(oversold == 0, f"no product oversold: {oversold}")
    outcome.control(
        staleness["worst_ms"] <= 50,
        f"worst staleness after an acknowledged change <= 50 ms: {staleness['worst_ms']:.1f}",
    )
    outcome.control(
        staleness["control_reads"] > 0 and staleness["control_stale"] == staleness["control_reads"],
        "the staleness control (a change behind the storefront's back) reads stale: the probe sees staleness",
    )
    return outcome.finish(args.strict)


# --- the measurements, in the order main runs them -------------------------------------------------------------


def wrk_rounds(env: dict, ceiling_url: str, url: str, hot: list, seconds: int) -> dict[tuple[str, str], dict]:
    """The bare-Flask ceiling and the cached product detail under wrk, on gunicorn and on granian: interleaved
    rounds, best of each, so a noisy moment does not land on one side only."""
    with (
        server("granian", env, app="bench.ceiling_app:app") as (granian_ceiling_url, *_),
        server("granian", env) as (granian_url, *_),
    ):
        targets = {
            ("gunicorn", "ceiling"): ceiling_url + "/ping",
            ("gunicorn", "detail"): f"{url}/api/v1/products/{hot[0]}",
            ("granian", "ceiling"): granian_ceiling_url + "/ping",
            ("granian", "detail"): f"{granian_url}/api/v1/products/{hot[0]}",
        }
        rounds: dict[tuple[str, str], list[dict]] = {target: [] for target in targets}
        for round_no in (1, 2, 3):
            log(f"wrk round {round_no}/3: ceiling and cached detail, gunicorn then granian")
            for target, target_url in targets.items():
                rounds[target].append(wrk(target_url, seconds))
    return {target: max(runs, key=lambda r: r["rps"]) for target, runs in rounds.items()}


def shopper_levels(url: str, internal_url: str, env: dict, out: Path, levels: list[int], seconds: int) -> list:
    """The Shopper mix (think time included) at each user count, with the cache's hit rate over the run."""
    results = []
    for users in levels:
        log(f"locust: {users} users for {seconds} s")
        hits0, misses0 = cache_counts(internal_url)
        result = locust(url, users, seconds, "Shopper", env, out)
        hits1, misses1 = cache_counts(internal_url)
        result["hit_rate"] = (hits1 - hits0) / max(1.0, (hits1 - hits0) + (misses1 - misses0))
        results.append((users, result))
    return results


def shoppers_without_pause(url: str, internal_url: str, env: dict, out: Path, hot: list, seconds: int) -> dict:
    """The mix without think time: its throughput, where its CPU went, its Redis commands, the keys it left, a
    filled cart's size and the read connections' holds."""
    log(f"locust: the mix without think time, {CAPACITY_USERS} users")
    roles = {"state": env["REDIS_URL"], "cache": env["BFP_CACHE_REDIS_URL"]}
    held0 = connection_holds(internal_url)
    with cpu_split() as cpu, counting(roles) as redis_commands:
        result = locust(url, CAPACITY_USERS, seconds, "ShopperWithoutPause", env, out)
    held1 = connection_holds(internal_url)
    return {
        "result": result,
        "cpu": cpu,
        "redis_commands": redis_commands.by_role,
        "redis_keys": {role: footprint(role_url) for role, role_url in roles.items()},
        "carts": cart_bytes(url, env["REDIS_URL"], hot),
        "holds": (held0, held1),
    }


def checkout_throughput(url: str, internal_url: str | None, env: dict, out: Path, bench_url: str, seconds: int) -> dict:
    """Shoppers buying without pause: orders made, where the CPU went, the checkout connections' holds (read
    from the storefront's metrics on `internal_url`; None for the checkout ceiling, which has none)."""
    log(f"locust: checkout throughput, {CHECKOUT_USERS} users buying without pause")
    with psycopg.connect(bench_url, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        held2 = connection_holds(internal_url) if internal_url else None
        with cpu_split() as cpu:
            result = locust(url, CHECKOUT_USERS, seconds, "CheckoutShopper", env, out)
        held3 = connection_holds(internal_url) if internal_url else None
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0] - before
    return {"result": result, "cpu": cpu, "holds": (held2, held3), "orders": orders}


# --- the report ----------------------------------------------------------------------------------------------


def report_levels(levels: list, ceiling: float, seconds: int) -> None:
    print(f"\nStorefront under Locust (Shopper: browse, product, cart, checkout, history; {seconds} s per row)")
    print(
        f"{'users':>6} {'requests':>9} {'avg ms':>7} {'p95 ms':>7} {'req/s':>8} {'/ceiling':>9} {'errors %':>9} "
        f"{'5xx %':>6} {'503 %':>6} {'cache hit %':>12}"
    )
    for users, result in levels:
        total = result["total"]
        count = int(total["Request Count"]) or 1
        server_errors = status_count(result["failures"], lambda s: s >= 500)
        shed = status_count(result["failures"], lambda s: s == 503)
        print(
            f"{users:>6} {int(total['Request Count']):>9,} {float(total['Average Response Time']):>7.1f} "
            f"{float(total['95%']):>7.0f} {float(total['Requests/s']):>8.1f} "
            f"{float(total['Requests/s']) / ceiling:>9.2f} "
            f"{100 * int(total['Failure Count']) / count:>9.2f} {100 * (server_errors - shed) / count:>6.2f} "
            f"{100 * shed / count:>6.2f} {100 * result['hit_rate']:>12.2f}"
        )
    low, high = SHOPPER_WAIT_SECONDS
    print(
        f"think time {low}-{high} s (mean {(low + high) / 2:.2f} s) bounds the mix: at 250 users at most "
        f"{250 / ((low + high) / 2):,.0f} req/s = {250 / ((low + high) / 2) / ceiling:.2f} of the ceiling, "
        "even with instant answers"
    )


def report_mix(mix: dict, ceiling: float, outcome: Outcome) -> float:
    """Prints the mix without think time and records its figures; returns its share of the ceiling."""
    total = mix["result"]["total"]
    failures = mix["result"]["failures"]
    count = int(total["Request Count"]) or 1
    print(
        f"the same mix without think time, {CAPACITY_USERS} users: {float(total['Requests/s']):,.1f} req/s = "
        f"{float(total['Requests/s']) / ceiling:.2f} of the ceiling, p95 {float(total['95%']):.0f} ms, "
        f"errors {100 * int(total['Failure Count']) / count:.2f}%, "
        f"5xx {100 * status_count(failures, lambda s: s >= 500 and s != 503) / count:.2f}%, "
        f"503 {100 * status_count(failures, lambda s: s == 503) / count:.2f}%"
    )
    print(f"  {cores_line(mix['cpu'])}")
    held0, held1 = mix["holds"]
    calls, carts = mix["redis_commands"], mix["carts"]
    outcome.figure("mix_requests_per_s", float(total["Requests/s"]))
    outcome.figure("mix_cores", {group: mix["cpu"].get(group, 0.0) for group in CPU_LABELS})
    outcome.figure("redis_commands_per_request", {role: n / count for role, n in calls.items()})
    outcome.figure(
        "redis_keys",
        {role: {p.kind: [p.keys, p.mean_bytes] for p in prints} for role, prints in mix["redis_keys"].items()},
    )
    outcome.figure("cart_bytes", {str(lines): size for lines, size in carts.items()})
    outcome.figure("read_hold_ms", hold_ms(held0, held1, "read"))
    outcome.figure("read_holds_per_request", (held1["read"][1] - held0["read"][1]) / count)
    print(
        "  Redis commands per request: "
        + ", ".join(f"{role} {n / count:.2f}" for role, n in calls.items())
        + f" ({', '.join(f'{role} {n:,}' for role, n in calls.items())} commands for {count:,} requests)"
    )
    for role, prints in mix["redis_keys"].items():
        kinds = "; ".join(f"{p.kind} {p.keys:,} x {p.mean_bytes:,.0f} B" for p in prints) or "none"
        print(f"  Redis {role} keys after the runs (kind, keys x mean MEMORY USAGE): {kinds}")
    filled = "; ".join(f"{n} lines {b:,} B" for n, b in carts.items())
    print(f"  a cart filled through the API (MEMORY USAGE): {filled}")
    print(f"  {holds_line(held0, held1, count, 'request')}")
    return float(total["Requests/s"]) / ceiling


def report_checkout(
    checkout: dict, floor: dict, bench_url: str, oversold: int, seconds: int, outcome: Outcome
) -> float:
    """Prints checkout over HTTP beside its floor and records the figures; returns their ratio."""
    held2, held3 = checkout["holds"]
    orders, cpu = checkout["orders"], checkout["cpu"]
    checkout_row = checkout["result"]["rows"].get("/api/v1/checkout", {})
    http_rate = orders / seconds
    print(
        f"\nCheckout, {CHECKOUT_USERS} concurrent shoppers (synchronous_commit={synchronous_commit(bench_url)}, "
        f"products with stock < 0 after the run: {oversold})"
    )
    print(
        f"  storefront over HTTP      {http_rate:>9,.1f} orders/s  ({orders:,} orders, p95 "
        f"{float(checkout_row.get('95%', 0)):.0f} ms, failures {int(checkout['result']['total']['Failure Count'])}; "
        "each order = add to cart + checkout)"
    )
    first_error = f": {floor['errors'][0]}" if floor["errors"] else ""
    print(
        f"  floor: same transaction   {floor['orders_per_s']:>9,.1f} orders/s  ({floor['orders']:,} orders, "
        f"straight into PostgreSQL, errors {len(floor['errors'])}{first_error})"
    )
    checkout_ratio = http_rate / floor["orders_per_s"]
    print(f"  ratio storefront / floor  {checkout_ratio:>9.2f}")
    outcome.figure("checkout_orders_per_s", http_rate)
    outcome.figure("checkout_floor_orders_per_s", floor["orders_per_s"])
    outcome.figure("checkout_postgres_ms_per_order", 1000 * cpu.get("postgres", 0.0) / max(http_rate, 1e-9))
    outcome.figure("checkout_hold_ms", hold_ms(held2, held3, "checkout"))
    print(f"  over HTTP: {cores_line(cpu)}; per order: {per_order_ms(cpu, http_rate)}")
    print(f"  {holds_line(held2, held3, max(orders, 1), 'order')}")
    print(
        f"  floor:     {cores_line(floor['cores'])}; per order: {per_order_ms(floor['cores'], floor['orders_per_s'])}"
    )
    return checkout_ratio


def report_ceiling_under_locust(
    ceiling_locust: dict, cpu: dict, ceiling: float, mix_rate: float, outcome: Outcome
) -> None:
    """Prints the bare-Flask ceiling driven by the mix's load generator beside wrk's, and the mix's share of it."""
    rate = float(ceiling_locust["total"]["Requests/s"])
    outcome.figure("ceiling_under_locust_requests_per_s", rate)
    print(
        f"the bare-Flask ceiling under the same Locust, {CAPACITY_USERS} users without pause: {rate:,.1f} req/s = "
        f"{rate / ceiling:.2f} of wrk's ceiling; the mix is {mix_rate / rate:.2f} of it"
    )
    print(f"  {cores_line(cpu)} (the load generator's share is the difference from wrk)")


def report_checkout_ceiling(ceiling: dict, storefront_orders: int, floor: dict, seconds: int, outcome: Outcome) -> None:
    """Prints the checkout ceiling (bare Flask + the same transaction, over HTTP) between the storefront and the
    floor: what HTTP, Flask and the load generator cost, and what the storefront's own work costs."""
    rate, cpu = ceiling["orders"] / seconds, ceiling["cpu"]
    outcome.figure("checkout_ceiling_orders_per_s", rate)
    print(
        f"  ceiling: bare Flask + the same transaction over HTTP {rate:,.1f} orders/s = "
        f"{rate / floor['orders_per_s']:.2f} of the floor (failures {int(ceiling['result']['total']['Failure Count'])};"
        f" no session, cart, Redis or validation); the storefront is {storefront_orders / seconds / rate:.2f} of it"
    )
    print(f"  ceiling:   {cores_line(cpu)}; per order: {per_order_ms(cpu, rate)}")


def report_wrk(best: dict, seconds: int) -> dict[str, float]:
    """Prints the wrk table; returns each server's cached detail / its ceiling."""
    print(f"\nwrk, 64 connections, {WORKERS} workers x {THREADS} threads, best of 3 interleaved {seconds} s rounds")
    print(f"{'':<24}{'gunicorn gthread':>24}{'granian (WSGI)':>24}")
    for kind, label in (("ceiling", "bare Flask JSON ceiling"), ("detail", "cached product detail")):
        cells = [
            f"{best[(srv, kind)]['rps']:>9,.0f} req/s p99 {best[(srv, kind)]['p99_ms']:>5.1f}"
            for srv in ("gunicorn", "granian")
        ]
        print(f"  {label:<22}{cells[0]:>24}{cells[1]:>24}")
    detail_ratios = {
        srv: best[(srv, "detail")]["rps"] / best[(srv, "ceiling")]["rps"] for srv in ("gunicorn", "granian")
    }
    for srv, ratio in detail_ratios.items():
        print(f"  ratio detail / ceiling, {srv:<9}{ratio:>6.2f}   (non-2xx {best[(srv, 'detail')]['non_2xx']})")
    return detail_ratios


def report_staleness(staleness: dict) -> None:
    print(
        f"\nStaleness: {staleness['changes']} price/stock changes through the admin API, {staleness['readers']} "
        f"keep-alive readers: {staleness['reads_after_ack']:,} reads after the acknowledgements, "
        f"{staleness['stale_reads']} stale; worst staleness {staleness['worst_ms']:.1f} ms"
    )
    print(
        f"  control, a price changed in PostgreSQL behind the storefront's back (no invalidation): "
        f"{staleness['control_stale']:,} of {staleness['control_reads']:,} reads stale, as they must be"
    )


if __name__ == "__main__":
    raise SystemExit(main())
