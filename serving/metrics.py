"""Prometheus metrics shared by every gunicorn worker (multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set)."""

from __future__ import annotations

import functools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "storefront_request_seconds",
    "Request latency by endpoint",
    ["endpoint", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RESPONSES = Counter("storefront_responses_total", "Responses by endpoint and status", ["endpoint", "status"])
CACHE = Counter("storefront_cache_requests_total", "Cache lookups by kind and result", ["kind", "result"])
CHECKOUTS = Counter("storefront_checkouts_total", "Checkout attempts by outcome", ["outcome"])
CACHE_LOADS = Counter(
    "storefront_cache_loads_total",
    "Cache misses loaded from the database (one per key per process in an outage)",
    ["kind"],
)
POOL_WAIT = Histogram(
    "storefront_db_pool_wait_seconds",
    "Time spent waiting for a pooled database connection",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0),
)
# Little's law for RDS Proxy: busy server connections = transactions per second x this wall time (the capacity
# plan reads it from `make bench-serve`)
POOL_HOLD = Histogram(
    "storefront_db_connection_hold_seconds",
    "Wall time a request holds a pooled database connection, by kind (read | checkout)",
    ["kind"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
POOL_EXHAUSTED = Counter("storefront_db_pool_exhausted_total", "Requests shed because no connection freed up in time")
POOL_DEAD_CONNECTIONS = Counter(
    "storefront_db_pool_dead_connections_total",
    "Pooled connections found ended by the server (a restart, a failover) before a request used them",
)


# The methods a label may name: any other (a client may send any 3-20 letter token) is "other", so a client cannot
# make new series (each one a file per worker in multiprocess mode, on the pod's memory-backed /tmp).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


# The labelled children of the per-request metrics, looked up once: `labels()` validates and locks on every
# call, a share of a cached read's CPU (make profile-serve). Bounded: endpoints are route rules.
@functools.lru_cache(maxsize=4096)
def request_seconds(endpoint: str, method: str):
    return REQUEST_SECONDS.labels(endpoint, method)


@functools.lru_cache(maxsize=4096)
def responses(endpoint: str, status: int):
    return RESPONSES.labels(endpoint, str(status))


@functools.lru_cache(maxsize=256)
def cache_lookups(kind: str, result: str):
    return CACHE.labels(kind, result)


RATE_LIMITED = Counter("storefront_rate_limited_total", "Requests answered 429, by limit", ["limit"])
RATE_LIMIT_DEGRADED = Counter(
    "storefront_rate_limit_degraded_total",
    "Limit checks the state Redis could not count: new identities refused, the others counted per worker",
    ["limit"],
)
SEARCH_SHED = Counter(
    "storefront_search_shed_total", "Searches answered 503: the search connections of the process were busy"
)
# Per process, refreshed by /readyz and by the calls themselves: min over live workers, so one worker that
# cannot reach a dependency shows (alert on it; readiness does not depend on it).
DEPENDENCY_UP = Gauge(
    "storefront_dependency_up",
    "1 when the dependency answered its last call",
    ["dependency"],
    multiprocess_mode="livemin",
)
REDIS_SHORT_CIRCUITED = Counter(
    "storefront_redis_short_circuited_total", "Redis calls failed at once by the worker's open circuit", ["role"]
)
DATABASE_LOST = Counter("storefront_db_unavailable_total", "Requests answered 503: the database went away or timed out")


def exposition() -> tuple[bytes, str]:
    """The metrics text: summed over all workers in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
