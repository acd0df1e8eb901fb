"""Storefront abuse drill (`make drill-abuse`): real shoppers beside bots, on gunicorn with the production
config and production limits, on services of its own (.local/drill-services, as `make drill-serve`).

Phases, the same shoppers in each of the first five:
1. quiet: the shoppers alone (browse, product, search, cart, checkout), the baseline;
2. abuse: the shoppers plus bots — hoarders (a new session per order, 99 of the doorbuster, the one address
   spelled differently each time, from two client addresses), a junk-category flood, worst-case searches,
   a unique-cache-key flood (unknown product ids, searches never asked before);
3. patience: a bot minting new identities exactly at the allowed rate from four addresses of one network, each
   buying a product limited to 1 per customer and 1 per household, writing the household the ways of
   HOUSEHOLD_VARIANTS (kept here);
4. cache role down: the cache Redis stopped for 60 s under the shoppers;
5. freeze: both Redis roles frozen (SIGSTOP) for 40 s under the same load;
6. doorbuster: 16 buyers, each order a new shopper from a network of its own, all on one product (limited,
   400 in stock) until it sells out; then the same buyers spread over 100 such products for as long.

Each client has its own address, sent the way the load balancer sends it (X-Forwarded-For, one trusted
proxy). Prints one table: the shoppers' checkout success and p95 against the quiet run, what the bots got
against the limits (from the database: the most units any bot customer and any address bought), Redis memory
against its bound per role and the state role's evictions, the most PostgreSQL connections seen, 5xx, and the
slowest answer during the freeze. Goals: checkout success >= 99% and p95 <= 2x the quiet run; no customer or
address past the doorbuster's limits; the patient bot's network no more than one customer's limit; with the
cache role down, checkout success >= 99%, p95 <= 2x and PostgreSQL CPU <= 1.5x the quiet run; nothing
evicted from the state role; no 5xx but 503 with Retry-After; every answer during the freeze <= 1 s; the
doorbuster never oversold and its orders/s >= 0.8x the spread load's. Exits 1 when a goal is missed.

Usage: python -m drills.abuse [--shoppers 8] [--seconds 20] [--freeze-seconds 40] [--patience-seconds 60]
                              [--cache-down-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace

import psutil
import psycopg
import redis
import requests
from limits import parse_many

from drills.serve import STATE, console, gunicorn
from serving.checkout.addresses import address_key
from serving.config import ServingConfig
from support.net import wait_until
from support.report import goal_table
from support.services import ConnectionWatcher, schema_and_catalog, start_services
from support.shopper import Answers, Catalog, Client, Habits, Shopper

ADMIN_TOKEN = secrets.token_hex(32)
LIMIT = {"per_customer": 2, "per_address": 4}
HOARDER_ADDRESSES = ("203.0.113.66", "203.0.113.67")
SPELLINGS = ("1 Main Street", "1 MAIN ST.", "1 main st", " 1  Main   Street ", "1 Main St #", "1 Main Str")
BOT_SHIPPING = {"name": "Bot", "city": "Austin", "state": "TX", "zip": "73301"}


PATIENT_NETWORK = ("192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13")  # four client addresses, one /24
PATIENT_LIMIT = {"per_customer": 1, "per_address": 1}
# One household (12 Oak Street, Austin TX 73301) written the ways a patient bot writes it: what it tries on the
# limit, not a list the storefront knows of.
HOUSEHOLD_VARIANTS = (
    {"address": "12 Oak Street"},
    {"address": "12 OAK ST."},
    {"address": "12 oak st", "city": "austin"},
    {"address": "12 Oakk Street"},  # a misspelled street
    {"address": "12 Oak Street", "city": "Austn"},  # a misspelled city
    {"address": "12 \u041eak Street"},  # a Cyrillic capital O
    {"address": "12 Oak Str\u0435\u0435t"},  # Cyrillic e's
    {"address": "\uff11\uff12 Oak Street"},  # full-width digits
    {"address": "012 Oak Street"},  # a leading zero
    {"address": "12 O.ak St"},
    {"address": "12 Oa\u200bk St"},  # a zero-width space
    {"address": "12  Oak   Street "},
    {"address": "12 Oak St Apt 1"},
    {"address": "12 Oak Street", "zip": "73301-0001"},
    {"address": "12 Oak Street", "city": "AUSTIN", "state": "tx"},
    {"address": "12 Oak Stret"},
)
DOORBUSTER_STOCK, DOORBUSTER_BUYERS, SPREAD_PRODUCTS = 400, 16, 100


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


class PatientBot(Client):
    """A new identity each turn, exactly at the client address's minting rate, buying one unit of a limited
    product for the one household, written another way each time."""

    product = 0
    turns = itertools.count()
    mint_interval = 0.0  # seconds between identities: the minting limit's own rate

    def step(self) -> None:
        started = time.monotonic()
        self.session.close()
        self.session = requests.Session()  # no cookie: a new shopper
        added = self.call("POST", "/api/v1/cart/items", json={"product_id": self.product, "quantity": 1})
        if added is not None and added.status_code == 200:
            variant = HOUSEHOLD_VARIANTS[next(self.turns) % len(HOUSEHOLD_VARIANTS)]
            shipping = {**BOT_SHIPPING, "name": "Patient", **variant}
            self.call("POST", "/api/v1/checkout", json=shipping, headers={"Idempotency-Key": uuid.uuid4().hex})
        self.stop.wait(max(0.0, self.mint_interval - (time.monotonic() - started)))


class DoorbusterBuyer(Shopper):
    """A real buyer of a Black Friday doorbuster: each order a new shopper, from a network and a household of
    its own, one unit of one of the catalog's products, the checkout retried after a 503 as a careful client."""

    numbers = itertools.count()

    def step(self) -> None:
        number = next(self.numbers)
        self.session.close()
        self.session = requests.Session()
        self.address = f"10.{number // 250 % 250}.{number % 250}.7"
        self.habits = replace(
            self.habits, shipping={**BOT_SHIPPING, "name": "Doorbuster", "address": f"{number + 1} Maple Ave"}
        )
        product = self.rng.choice(self.catalog.products)
        added = self.call("POST", "/api/v1/cart/items", json={"product_id": product, "quantity": 1})
        if added is None or added.status_code != 200:
            self.answers.checkout("", None, 0.0)
            return
        self.checkout()


def postgres_cpu_seconds(database_url: str) -> float:
    """CPU seconds the PostgreSQL cluster behind `database_url` has used so far: its postmaster, its live
    processes and the ones it has reaped (this machine may run other clusters)."""
    with psycopg.connect(database_url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        postmaster = psutil.Process(backend).parent()
    own = postmaster.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def doorbuster_rate(database_url: str, products: list[int], since) -> tuple[int, float]:
    """(orders, orders/s from the first to the last) of the doorbuster buyers' orders of `products` since."""
    with psycopg.connect(database_url) as conn:
        orders, first, last = conn.execute(
            "SELECT count(DISTINCT o.id), min(o.created_at), max(o.created_at) FROM orders o "
            "JOIN order_items i ON i.order_id = o.id "
            "WHERE o.shipping_name = 'Doorbuster' AND i.product_id = ANY(%s) AND o.created_at >= %s",
            (products, since),
        ).fetchone()
    seconds = (last - first).total_seconds() if orders > 1 else 0.0
    return orders, (orders - 1) / seconds if seconds else 0.0


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


def only_from_now(answers: Answers) -> None:
    """Forgets what `answers` got so far: only what comes after counts (a fault's window, not the load before)."""
    with answers.lock:
        answers.statuses.clear()
        answers.seconds.clear()
        answers.timeline.clear()
        answers.checkouts.clear()
        answers.checkout_seconds.clear()


def mint_interval(limit: str, seconds: float) -> float:
    """Seconds between new identities at the fastest rate `limit` (limits notation) allows for `seconds`."""
    items = parse_many(limit)
    within = [item for item in items if item.get_expiry() <= seconds] or [min(items, key=lambda i: i.get_expiry())]
    return max(item.get_expiry() / item.amount for item in within)


def set_limit(internal: str, product: int, limit: dict) -> None:
    requests.put(
        f"{internal}/api/v1/admin/products/{product}/purchase-limit",
        json=limit,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    ).raise_for_status()


def scalar(database_url: str, sql: str, *params) -> object:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


@dataclass
class Products:
    """The drill's products: the hoarders', the patient bot's, the doorbuster's, the spread load's, the rest."""

    hoarded: int
    patient: int
    doorbuster: int
    spread: list[int]
    catalog: Catalog

    @classmethod
    def pick(cls, database_url: str) -> Products:
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE products SET stock = 1000000")
            special = [
                r[0] for r in conn.execute("SELECT id FROM products ORDER BY id LIMIT %s", (3 + SPREAD_PRODUCTS,))
            ]
            hoarded, patient, doorbuster, spread = special[0], special[1], special[2], special[3:]
            conn.execute("UPDATE products SET stock = 500 WHERE id = %s", (hoarded,))
            conn.execute("UPDATE products SET stock = %s WHERE id = ANY(%s)", (DOORBUSTER_STOCK, [doorbuster, *spread]))
            catalog = Catalog(
                tuple(
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM products WHERE id > %s ORDER BY random() LIMIT 500", (special[-1],)
                    )
                ),
                tuple(r[0] for r in conn.execute("SELECT code FROM categories")),
            )
        return cls(hoarded, patient, doorbuster, spread, catalog)


@dataclass
class Phases:
    """What each phase measured."""

    quiet: Answers = field(default_factory=Answers)
    abused: Answers = field(default_factory=Answers)
    bots: Answers = field(default_factory=Answers)
    patience: Answers = field(default_factory=Answers)  # the shoppers beside the patient bot
    patient_bot: Answers = field(default_factory=Answers)
    cache_down: Answers = field(default_factory=Answers)
    frozen: Answers = field(default_factory=Answers)
    buyers: Answers = field(default_factory=Answers)
    quiet_postgres_cores: float = 0.0
    cache_down_postgres_cores: float = 0.0
    patient_identities: int = 0
    doorbuster_seconds: float = 0.0


def run_phases(args, services, base: str, internal: str, products: Products) -> Phases:
    phases = Phases()

    def shoppers(answers: Answers, stop: threading.Event, seed: int) -> list[Client]:
        return [
            Shopper(
                base,
                products.catalog,
                answers,
                stop,
                replace(SHOPPER_HABITS, shipping={**BOT_SHIPPING, "name": "Shopper", "address": f"{i} Elm"}),
                seed=seed + i,
                address=f"198.51.100.{i + 1}",
            )
            for i in range(args.shoppers)
        ]

    def postgres_cores(block) -> float:
        before, started = postgres_cpu_seconds(services.database_url), time.monotonic()
        block()
        return (postgres_cpu_seconds(services.database_url) - before) / (time.monotonic() - started)

    console.print(f"drill-abuse: quiet, {args.shoppers} shoppers for {args.seconds:.0f} s …")
    phases.quiet_postgres_cores = postgres_cores(
        lambda: run_phase(shoppers(phases.quiet, threading.Event(), 1), args.seconds)
    )

    console.print("drill-abuse: the same shoppers beside hoarders, junk categories, worst searches, unique keys …")
    # The bots run in a process of their own, as they would on machines of their own: in this one they would take
    # the shoppers' turn at the interpreter lock and the shoppers' latency would be theirs.
    spawn = multiprocessing.get_context("spawn")
    bot_statuses, sent = spawn.Pipe(duplex=False)
    bot_process = spawn.Process(target=run_bots, args=(base, products.hoarded, args.seconds, sent))
    bot_process.start()
    run_phase(shoppers(phases.abused, threading.Event(), 1), args.seconds)
    phases.bots = Answers(statuses=Counter(bot_statuses.recv()))
    bot_process.join(timeout=60)

    console.print(f"drill-abuse: a patient bot, {len(PATIENT_NETWORK)} addresses of one network, at the minting rate …")
    PatientBot.product = products.patient
    PatientBot.mint_interval = mint_interval(
        ServingConfig(secret_key="", database_url="", redis_url="", admin_token=None).new_shopper_rate_limit,
        args.patience_seconds,
    )
    stop = threading.Event()
    patient = [
        PatientBot(base, phases.patient_bot, stop, seed=30 + n, address=address)
        for n, address in enumerate(PATIENT_NETWORK)
    ]
    run_phase([*patient, *shoppers(phases.patience, stop, 1)], args.patience_seconds)
    phases.patient_identities = phases.patient_bot.statuses[200]

    console.print(f"drill-abuse: the cache role stopped for {args.cache_down_seconds:.0f} s under the shoppers …")

    def cache_down() -> None:
        time.sleep(2)  # load first
        only_from_now(phases.cache_down)

        def stopped() -> None:
            services.run("stop-redis", "cache")
            time.sleep(args.cache_down_seconds)  # the outage's length, the shoppers running meanwhile

        try:
            phases.cache_down_postgres_cores = postgres_cores(stopped)
        finally:
            services.run("start-redis", "cache")

    run_phase(shoppers(phases.cache_down, threading.Event(), 1), 0, cache_down)

    console.print(f"drill-abuse: Redis (both roles) frozen for {args.freeze_seconds:.0f} s under the same load …")

    def freeze() -> None:
        time.sleep(2)  # load first
        services.run("freeze-redis")
        only_from_now(phases.frozen)  # only the answers during the freeze count
        time.sleep(args.freeze_seconds)
        services.run("thaw-redis")

    stop = threading.Event()
    run_phase(
        [*shoppers(phases.frozen, stop, 1), JunkCategories(base, phases.frozen, stop, seed=20, address="203.0.113.70")],
        0,
        freeze,
    )

    console.print(f"drill-abuse: {DOORBUSTER_BUYERS} buyers on one doorbuster ({DOORBUSTER_STOCK} in stock) …")

    def buyers(on: tuple[int, ...], stop: threading.Event) -> list[Client]:
        habits = Habits(items=(1,), checkout_attempts=3)
        return [
            DoorbusterBuyer(base, Catalog(on, ()), phases.buyers, stop, habits, seed=100 + n)
            for n in range(DOORBUSTER_BUYERS)
        ]

    def until_sold_out() -> None:
        started = time.monotonic()
        wait_until(
            lambda: scalar(services.database_url, "SELECT stock FROM products WHERE id = %s", products.doorbuster) == 0,
            120,
            "the doorbuster sold out",
            every=0.2,
        )
        phases.doorbuster_seconds = time.monotonic() - started

    run_phase(buyers((products.doorbuster,), threading.Event()), 0, until_sold_out)
    console.print(f"drill-abuse: the same buyers over {SPREAD_PRODUCTS} products for as long …")
    run_phase(buyers(tuple(products.spread), threading.Event()), max(10.0, phases.doorbuster_seconds))
    return phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=8, help="concurrent real shoppers (%(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the quiet and abuse phases")
    parser.add_argument("--freeze-seconds", type=float, default=40.0, help="how long Redis stays frozen")
    parser.add_argument("--patience-seconds", type=float, default=60.0, help="how long the patient bot buys")
    parser.add_argument("--cache-down-seconds", type=float, default=60.0, help="how long the cache role is down")
    args = parser.parse_args(argv)
    STATE.mkdir(parents=True, exist_ok=True)
    services = start_services(STATE / "services", "bfp_drill_abuse")
    defaults = ServingConfig(secret_key="", database_url="", redis_url="", admin_token=None)
    try:
        schema_and_catalog(services, STATE)
        products = Products.pick(services.database_url)
        Hoarder.doorbuster = products.hoarded
        production_limits = {
            "BFP_CHECKOUT_RATE_LIMIT": defaults.checkout_rate_limit,
            "BFP_NEW_SHOPPER_RATE_LIMIT": defaults.new_shopper_rate_limit,
            "BFP_SEARCH_RATE_LIMIT": defaults.search_rate_limit,
            "BFP_TRUSTED_PROXIES": "1",
            "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
            "BFP_WORKERS": "2",
        }
        with gunicorn(services, **production_limits) as server:
            set_limit(server.internal_url, products.hoarded, LIMIT)
            for product in (products.patient, products.doorbuster, *products.spread):
                set_limit(server.internal_url, product, PATIENT_LIMIT)
            watcher = ConnectionWatcher(services.database_url, every=0.25)
            watcher.start()
            phases = run_phases(args, services, server.url, server.internal_url, products)
            most_connections = watcher.stop()
            database = services.database_url
            bought, most_by_customer, most_by_address = bot_gains(database, products.hoarded)
            patient_units = scalar(
                database,
                "SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
                "WHERE i.product_id = %s AND o.shipping_name = 'Patient'",
                products.patient,
            )
            door_sold = scalar(
                database,
                "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = %s",
                products.doorbuster,
            )
            door_stock = scalar(database, "SELECT stock FROM products WHERE id = %s", products.doorbuster)
            since = scalar(database, "SELECT now() - interval '1 hour'")
            door_orders, door_rate = doorbuster_rate(database, [products.doorbuster], since)
            spread_orders, spread_rate = doorbuster_rate(database, products.spread, since)
            state = redis_memory(services.redis_url)
            cache = redis_memory(services.cache_redis_url)
    finally:
        services.run("down")
    measured = Measured(
        phases, most_connections, (bought, most_by_customer, most_by_address), patient_units,
        (door_sold, door_stock, door_orders, door_rate, spread_orders, spread_rate), state, cache,
    )  # fmt: skip
    return goal_table(console, "make drill-abuse: shoppers beside bots", goal_rows(args, measured))


@dataclass
class Measured:
    phases: Phases
    most_connections: int
    hoarded: tuple[int, int, int]  # units the hoarders bought; the most by one customer; by one address
    patient_units: int
    doorbuster: tuple  # units sold, stock left, orders, orders/s; the spread load's orders, orders/s
    state: tuple[int, int, int]  # used, bound, evicted
    cache: tuple[int, int, int]


def goal_rows(args, m: Measured) -> list[tuple]:
    phases = m.phases

    def success(answers: Answers) -> float:
        total = sum(answers.checkouts.values())
        return answers.checkouts["placed"] / total if total else 0.0

    def other_5xx(answers: Answers) -> int:
        return sum(count for status, count in answers.statuses.items() if status >= 500 and status != 503)

    quiet_p95 = percentile(phases.quiet.checkout_seconds, 0.95)
    abused_p95 = percentile(phases.abused.checkout_seconds, 0.95)
    down_p95 = percentile(phases.cache_down.checkout_seconds, 0.95)
    worst_frozen = max(phases.frozen.seconds, default=0.0)
    every_phase = (phases.quiet, phases.abused, phases.bots, phases.patience, phases.patient_bot,
                   phases.cache_down, phases.frozen, phases.buyers)  # fmt: skip
    server_errors = sum(other_5xx(answers) for answers in every_phase)
    bought, most_by_customer, most_by_address = m.hoarded
    door_sold, door_stock, door_orders, door_rate, spread_orders, spread_rate = m.doorbuster
    cpu_ratio = phases.cache_down_postgres_cores / phases.quiet_postgres_cores if phases.quiet_postgres_cores else 0
    (state_used, state_bound, state_evicted), (cache_used, cache_bound, _) = m.state, m.cache
    return [
        ("shoppers' checkout success, quiet → abused", f"{success(phases.quiet):.1%} → {success(phases.abused):.1%}",
         "≥ 99% abused", success(phases.abused) >= 0.99),
        ("shoppers' checkout p95, quiet → abused", f"{quiet_p95 * 1000:.0f} ms → {abused_p95 * 1000:.0f} ms",
         "≤ 2× quiet", abused_p95 <= 2 * quiet_p95),
        ("bots' answers: 2xx / 404 / 409 / 422 / 429", " / ".join(f"{n:,}" for n in bot_classes(phases.bots)), "—",
         True),
        ("doorbuster units the bots bought; most by one customer / one address",
         f"{bought} ; {most_by_customer} / {most_by_address}",
         f"≤ {LIMIT['per_customer']} / ≤ {LIMIT['per_address']}",
         most_by_customer <= LIMIT["per_customer"] and most_by_address <= LIMIT["per_address"]),
        (f"patient bot, {args.patience_seconds:.0f} s: units of a 1-per-customer product its network bought "
         f"({m.phases.patient_identities} identities, {len(HOUSEHOLD_VARIANTS)} spellings of one household)",
         str(m.patient_units), f"≤ {PATIENT_LIMIT['per_customer']}", m.patient_units <= PATIENT_LIMIT["per_customer"]),
        (f"cache role down {args.cache_down_seconds:.0f} s: shoppers' checkout success",
         f"{success(phases.cache_down):.1%}", "≥ 99%", success(phases.cache_down) >= 0.99),
        ("cache role down: checkout p95, quiet → down", f"{quiet_p95 * 1000:.0f} ms → {down_p95 * 1000:.0f} ms",
         "≤ 2× quiet", down_p95 <= 2 * quiet_p95),
        ("cache role down: PostgreSQL CPU, quiet → down",
         f"{phases.quiet_postgres_cores:.3f} → {phases.cache_down_postgres_cores:.3f} cores ({cpu_ratio:.2f}×)",
         "≤ 1.5× quiet", cpu_ratio <= 1.5),
        ("Redis state role: used / bound, evicted keys",
         f"{state_used / 2**20:.1f} / {state_bound / 2**20:.0f} MiB, {state_evicted}", "0 evicted",
         state_evicted == 0 and state_used <= state_bound),
        ("Redis cache role: used / bound", f"{cache_used / 2**20:.1f} / {cache_bound / 2**20:.0f} MiB", "≤ bound",
         cache_used <= cache_bound),
        ("PostgreSQL connections, most seen", str(m.most_connections), "≤ 2 workers × pool 8 + 1",
         m.most_connections <= 17),
        ("5xx other than 503, all phases", str(server_errors), "0", server_errors == 0),
        (f"slowest answer during the {args.freeze_seconds:.0f} s freeze ({len(phases.frozen.seconds):,} answers, "
         f"{phases.frozen.statuses[503]:,} × 503)", f"{worst_frozen * 1000:.0f} ms", "≤ 1000 ms", worst_frozen <= 1.0),
        (f"doorbuster ({DOORBUSTER_STOCK} in stock): units sold; stock left; oversold",
         f"{door_sold}; {door_stock}; {door_sold + door_stock - DOORBUSTER_STOCK}", "0 oversold",
         door_stock >= 0 and door_sold + door_stock == DOORBUSTER_STOCK),
        (f"doorbuster orders/s against the same buyers over {SPREAD_PRODUCTS} products",
         f"{door_rate:.1f} ({door_orders:,} orders) / {spread_rate:.1f} ({spread_orders:,}) = "
         f"{door_rate / spread_rate if spread_rate else 0:.2f}", "≥ 0.8",
         spread_rate > 0 and door_rate >= 0.8 * spread_rate),
    ]  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
