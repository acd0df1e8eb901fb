"""Storefront abuse drill (`make drill-abuse`): real shoppers beside bots, on gunicorn with the production
config and production limits, on services of its own (.local/drill-services, as `make drill-serve`).

Three phases, the same shoppers in each:
1. quiet: the shoppers alone (browse, product, search, cart, checkout), the baseline;
2. abuse: the shoppers plus bots — hoarders (a new session per order, 99 of the doorbuster, the one address
   spelled differently each time, from two client addresses), a junk-category flood, worst-case searches,
   a unique-cache-key flood (unknown product ids, searches never asked before);
3. freeze: both Redis roles frozen (SIGSTOP) for 40 s under the same load.

Each client has its own address, sent the way the load balancer sends it (X-Forwarded-For, one trusted
proxy). Prints one table: the shoppers' checkout success and p95 against the quiet run, what the bots got
against the limits (from the database: the most units any bot customer and any address bought), Redis memory
against its bound per role and the state role's evictions, the most PostgreSQL connections seen, 5xx, and the
slowest answer during the freeze. Goals: checkout success >= 99% and p95 <= 2x the quiet run; no customer or
address past the doorbuster's limits; nothing evicted from the state role; no 5xx but 503 with Retry-After;
every answer during the freeze <= 1 s. Exits 1 when a goal is missed.

Usage: python -m drills.abuse [--shoppers 8] [--seconds 20] [--freeze-seconds 40]
"""

from __future__ import annotations

import argparse
import multiprocessing
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace

import psycopg
import redis
import requests

from drills.serve import STATE, console, gunicorn
from serving.checkout.addresses import address_key
from serving.config import ServingConfig
from support.report import goal_table
from support.services import ConnectionWatcher, schema_and_catalog, start_services
from support.shopper import Answers, Catalog, Client, Habits, Shopper

ADMIN_TOKEN = secrets.token_hex(32)
LIMIT = {"per_customer": 2, "per_address": 4}
HOARDER_ADDRESSES = ("203.0.113.66", "203.0.113.67")
SPELLINGS = ("1 Main Street", "1 MAIN ST.", "1 main st", " 1  Main   Street ", "1 Main St #", "1 Main Str")
BOT_SHIPPING = {"name": "Bot", "city": "Austin", "state": "TX", "zip": "73301"}


# a real shopper checks out a few times a minute at most (within the per-shopper checkout limit), retrying a 503
# with the same key after its Retry-After, as a careful client does
SHOPPER_HABITS = Habits(search_share=0.3, items=(1, 2), checkout_attempts=3, think_seconds=3.5)


class Hoarder(Client):
    """A new session per order, the cart's most of the doorbuster, the same address spelled another way."""

    doorbuster = 0

    def step(self) -> None:
        self.session.close()
        self.session = requests.Session()  # no cookie: a new shopper
        added = self.call("POST", "/api/v1/cart/items", json={"product_id": self.doorbuster, "quantity": 99})
        if added is None or added.status_code != 200:
            time.sleep(0.05)
            return
        for quantity in (99, LIMIT["per_customer"]):  # everything, then as much as a customer may
            self.call("PUT", f"/api/v1/cart/items/{self.doorbuster}", json={"quantity": quantity})
            shipping = {**BOT_SHIPPING, "address": self.rng.choice(SPELLINGS)}
            answer = self.call("POST", "/api/v1/checkout", json=shipping, headers={"Idempotency-Key": uuid.uuid4().hex})
            if answer is not None and answer.status_code == 201:
                return


class JunkCategories(Client):
    def step(self) -> None:
        self.call("GET", f"/api/v1/categories/JUNK{self.rng.randrange(10**9)}/products")


class WorstSearches(Client):
    def step(self) -> None:
        self.call("GET", "/api/v1/search", params={"q": self.rng.choice(("%%%", "___", "!!!", "a%b_c%d", "e e e"))})


class UniqueKeys(Client):
    def step(self) -> None:
        if self.rng.random() < 0.5:
            self.call("GET", f"/api/v1/products/{self.rng.randrange(10**6, 10**15)}")
        else:
            self.call("GET", "/api/v1/search", params={"q": f"zq{self.rng.randrange(10**12)}"})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run_bots(base: str, doorbuster: int, seconds: float, report) -> None:
    """The bots for `seconds` (in a process of their own); sends the statuses they got through `report`."""
    Hoarder.doorbuster = doorbuster
    bots, stop = Answers(), threading.Event()
    clients: list[Client] = [
        Hoarder(base, bots, stop, seed=n, address=address) for n, address in enumerate(HOARDER_ADDRESSES)
    ]
    clients += [
        JunkCategories(base, bots, stop, seed=10, address="203.0.113.70"),
        WorstSearches(base, bots, stop, seed=11, address="203.0.113.71"),
        UniqueKeys(base, bots, stop, seed=12, address="203.0.113.72"),
    ]
    run_phase(clients, seconds)
    report.send(dict(bots.statuses))


def run_phase(clients: list[Client], seconds: float, during=None) -> None:
    for client in clients:
        client.start()
    if during is not None:
        during()
    else:
        time.sleep(seconds)  # the load runs for the phase's length
    clients[0].stop.set()
    for client in clients:
        client.join(timeout=30)


def bot_gains(database_url: str, doorbuster: int) -> tuple[int, int, int]:
    """(units the bots bought, the most any one customer bought, the most any one address bought)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT o.customer_id, o.shipping_address, o.shipping_city, o.shipping_state, o.shipping_zip, i.quantity "
            "FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.product_id = %s",
            (doorbuster,),
        ).fetchall()
    by_customer, by_address = Counter(), Counter()
    for customer, address, city, state, zip_code, quantity in rows:
        by_customer[customer] += quantity
        shipping = {"address": address, "city": city, "state": state, "zip": zip_code}
        by_address[address_key(shipping)] += quantity
    return sum(by_customer.values()), max(by_customer.values(), default=0), max(by_address.values(), default=0)


def bot_classes(answers: Answers) -> list[int]:
    """How many answers the bots got: 2xx, 404 (junk), 409 (a limit or stock), 422 (refused), 429 (rate)."""
    two_xx = sum(count for status, count in answers.statuses.items() if 200 <= status < 300)
    return [two_xx, *(answers.statuses[status] for status in (404, 409, 422, 429))]


def redis_memory(url: str) -> tuple[int, int, int]:
    """(used bytes, maxmemory, evicted keys) of one Redis role."""
    client = redis.Redis.from_url(url)
    memory, stats = client.info("memory"), client.info("stats")
    return memory["used_memory"], memory["maxmemory"], stats["evicted_keys"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=8, help="concurrent real shoppers (%(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the quiet and abuse phases")
    parser.add_argument("--freeze-seconds", type=float, default=40.0, help="how long Redis stays frozen")
    args = parser.parse_args(argv)
    STATE.mkdir(parents=True, exist_ok=True)
    services = start_services(STATE / "services", "bfp_drill_abuse")
    defaults = ServingConfig(secret_key="", database_url="", redis_url="", admin_token=None)
    try:
        schema_and_catalog(services, STATE)
        with psycopg.connect(services.database_url) as conn:
            conn.execute("UPDATE products SET stock = 1000000")
            catalog = Catalog(
                tuple(r[0] for r in conn.execute("SELECT id FROM products ORDER BY random() LIMIT 500")),
                tuple(r[0] for r in conn.execute("SELECT code FROM categories")),
            )
            Hoarder.doorbuster = conn.execute("SELECT min(id) FROM products").fetchone()[0]
            conn.execute("UPDATE products SET stock = 500 WHERE id = %s", (Hoarder.doorbuster,))
        production_limits = {
            "BFP_CHECKOUT_RATE_LIMIT": defaults.checkout_rate_limit,
            "BFP_NEW_SHOPPER_RATE_LIMIT": defaults.new_shopper_rate_limit,
            "BFP_SEARCH_RATE_LIMIT": defaults.search_rate_limit,
            "BFP_TRUSTED_PROXIES": "1",
            "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
            "BFP_WORKERS": "2",
        }
        with gunicorn(services, **production_limits) as server:
            base, internal = server.url, server.internal_url
            requests.put(
                f"{internal}/api/v1/admin/products/{Hoarder.doorbuster}/purchase-limit",
                json=LIMIT,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=10,
            ).raise_for_status()

            def shoppers(answers: Answers, stop: threading.Event, seed: int) -> list[Client]:
                return [
                    Shopper(
                        base,
                        catalog,
                        answers,
                        stop,
                        replace(SHOPPER_HABITS, shipping={**BOT_SHIPPING, "name": "Shopper", "address": f"{i} Elm"}),
                        seed=seed + i,
                        address=f"198.51.100.{i + 1}",
                    )
                    for i in range(args.shoppers)
                ]

            watcher = ConnectionWatcher(services.database_url, every=0.25)
            watcher.start()

            console.print(f"drill-abuse: quiet, {args.shoppers} shoppers for {args.seconds:.0f} s …")
            quiet, stop = Answers(), threading.Event()
            run_phase(shoppers(quiet, stop, 1), args.seconds)

            console.print(
                "drill-abuse: the same shoppers beside hoarders, junk categories, worst searches, unique keys …"
            )
            abused, stop = Answers(), threading.Event()
            # The bots run in a process of their own, as they would on machines of their own: in this one they
            # would take the shoppers' turn at the interpreter lock and the shoppers' latency would be theirs.
            spawn = multiprocessing.get_context("spawn")
            bot_statuses, sent = spawn.Pipe(duplex=False)
            bot_process = spawn.Process(target=run_bots, args=(base, Hoarder.doorbuster, args.seconds, sent))
            bot_process.start()
            run_phase(shoppers(abused, stop, 1), args.seconds)
            bots = Answers(statuses=Counter(bot_statuses.recv()))
            bot_process.join(timeout=60)

            console.print(
                f"drill-abuse: Redis (both roles) frozen for {args.freeze_seconds:.0f} s under the same load …"
            )
            frozen, stop = Answers(), threading.Event()

            def freeze() -> None:
                time.sleep(2)  # load first
                services.run("freeze-redis")
                with frozen.lock:
                    frozen.seconds.clear()  # only the answers during the freeze count
                time.sleep(args.freeze_seconds)
                services.run("thaw-redis")

            run_phase(
                [*shoppers(frozen, stop, 1), JunkCategories(base, frozen, stop, seed=20, address="203.0.113.70")],
                0,
                freeze,
            )
            most_connections = watcher.stop()

            bought, most_by_customer, most_by_address = bot_gains(services.database_url, Hoarder.doorbuster)
            state_used, state_bound, state_evicted = redis_memory(services.redis_url)
            cache_used, cache_bound, _ = redis_memory(services.cache_redis_url)
    finally:
        services.run("down")

    def success(answers: Answers) -> float:
        total = sum(answers.checkouts.values())
        return answers.checkouts["placed"] / total if total else 0.0

    def other_5xx(answers: Answers) -> int:
        return sum(count for status, count in answers.statuses.items() if status >= 500 and status != 503)

    quiet_p95, abused_p95 = percentile(quiet.checkout_seconds, 0.95), percentile(abused.checkout_seconds, 0.95)
    worst_frozen = max(frozen.seconds, default=0.0)
    server_errors = sum(other_5xx(answers) for answers in (quiet, abused, bots, frozen))
    rows = [
        ("shoppers' checkout success, quiet → abused", f"{success(quiet):.1%} → {success(abused):.1%}",
         "≥ 99% abused", success(abused) >= 0.99),
        ("shoppers' checkout p95, quiet → abused", f"{quiet_p95 * 1000:.0f} ms → {abused_p95 * 1000:.0f} ms",
         "≤ 2× quiet", abused_p95 <= 2 * quiet_p95),
        ("bots' answers: 2xx / 404 / 409 / 422 / 429", " / ".join(f"{n:,}" for n in bot_classes(bots)), "—", True),
        ("doorbuster units the bots bought; most by one customer / one address",
         f"{bought} ; {most_by_customer} / {most_by_address}",
         f"≤ {LIMIT['per_customer']} / ≤ {LIMIT['per_address']}",
         most_by_customer <= LIMIT["per_customer"] and most_by_address <= LIMIT["per_address"]),
        ("Redis state role: used / bound, evicted keys",
         f"{state_used / 2**20:.1f} / {state_bound / 2**20:.0f} MiB, {state_evicted}", "0 evicted",
         state_evicted == 0 and state_used <= state_bound),
        ("Redis cache role: used / bound", f"{cache_used / 2**20:.1f} / {cache_bound / 2**20:.0f} MiB", "≤ bound",
         cache_used <= cache_bound),
        ("PostgreSQL connections, most seen", str(most_connections), "≤ 2 workers × pool 8 + 1",
         most_connections <= 17),
        ("5xx other than 503, all phases", str(server_errors), "0", server_errors == 0),
        (f"slowest answer during the {args.freeze_seconds:.0f} s freeze ({len(frozen.seconds):,} answers, "
         f"{frozen.statuses[503]:,} × 503)", f"{worst_frozen * 1000:.0f} ms", "≤ 1000 ms", worst_frozen <= 1.0),
    ]  # fmt: skip
    return goal_table(console, "make drill-abuse: shoppers beside bots", rows)


if __name__ == "__main__":
    raise SystemExit(main())
