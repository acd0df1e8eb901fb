"""What the storefront asks of Redis, for `make bench-serve` and the capacity plan: commands per request (from
the servers' INFO commandstats around a run, so every worker's calls and the near caches' invalidation pushes
count) and bytes per key of each kind (MEMORY USAGE on a sample), per role (state: carts, rate limits,
idempotency; cache: products, listing pages, versions).

INFO commandstats is per server, not per database: nothing else may use the servers during the measured run
(bench-serve flushes its own database 2 and is the only client then).
"""

from __future__ import annotations

import contextlib
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis

SAMPLE_PER_KIND = 500  # keys measured with MEMORY USAGE per kind; the mean stands for the rest


def command_calls(client: redis.Redis) -> int:
    """Commands the server has executed since its last restart or CONFIG RESETSTAT (every command, every db)."""
    return sum(int(stats["calls"]) for stats in client.info("commandstats").values())


@dataclass
class CommandCount:
    """Filled on exit of `counting`: commands per role during the block."""

    by_role: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def counting(urls: dict[str, str]) -> Iterator[CommandCount]:
    """Counts the commands each role's server executed during the block (not this probe's own INFO)."""
    clients = {role: redis.Redis.from_url(url) for role, url in urls.items()}
    before = {role: command_calls(client) for role, client in clients.items()}
    count = CommandCount()
    yield count
    for role, client in clients.items():
        count.by_role[role] = command_calls(client) - before[role] - 1  # the first INFO counts itself only afterwards


def key_kind(key: bytes) -> str:
    """A key's kind: its text before the first ':' (cart, product, page, version, ratelimit...)."""
    return key.decode(errors="replace").split(":", 1)[0] or "?"


@dataclass(frozen=True)
class Footprint:
    kind: str
    keys: int
    mean_bytes: float  # MEMORY USAGE (value, key and Redis' overhead) over a sample of SAMPLE_PER_KIND


def footprint(url: str) -> list[Footprint]:
    """The keys of the URL's database by kind: how many and their mean size in memory, largest kinds first."""
    client = redis.Redis.from_url(url)
    counts: dict[str, int] = defaultdict(int)
    sizes: dict[str, list[int]] = defaultdict(list)
    for key in client.scan_iter(count=1_000):
        kind = key_kind(key)
        counts[kind] += 1
        if len(sizes[kind]) < SAMPLE_PER_KIND:
            used = client.memory_usage(key, samples=0)
            if used is not None:  # expired between SCAN and MEMORY USAGE
                sizes[kind].append(used)
    prints = [Footprint(kind, counts[kind], statistics.fmean(sizes[kind])) for kind in counts if sizes[kind]]
    return sorted(prints, key=lambda p: p.keys * p.mean_bytes, reverse=True)


def cart_bytes(storefront_url: str, state_url: str, products: list[int], lines: tuple[int, ...] = (1, 2, 3)) -> dict:
    """MEMORY USAGE of a cart holding each number of `lines`, filled through the storefront's API by a new shopper
    (the carts left after a load test are mostly empty: they would understate a real one)."""
    import requests

    client = redis.Redis.from_url(state_url)
    measured = {}
    for count in lines:
        before = set(client.scan_iter(match="cart:*", count=1_000))
        with requests.Session() as shopper:
            for product in products[:count]:
                answer = shopper.post(
                    f"{storefront_url}/api/v1/cart/items", json={"product_id": product, "quantity": 1}, timeout=10
                )
                answer.raise_for_status()
        (key,) = set(client.scan_iter(match="cart:*", count=1_000)) - before
        measured[count] = client.memory_usage(key, samples=0)
    return measured
