"""Rate limits counted in Redis by the `limits` library (fixed windows): checkout attempts per shopper, new
shopper identities per client address, searches per client address.

Only the limited endpoints call them (no hook on every request: Flask-Limiter's global hooks add a measurable
cost to each one). When the state Redis cannot count, a limiter outage must not stop sales, nor open the door:
the checkout and search limits are counted in the worker's own memory until it is back (each worker counts
alone: a looser bound, never none), and new shopper identities are refused (503) — a fresh identity per order is
what a bot needs, and a shopper who has one is not affected.
"""

from __future__ import annotations

import ipaddress
import math
import time

import redis
from flask import current_app, request
from limits import parse_many, storage, strategies

from serving import metrics
from serving.cache import reconnect_once, state_redis
from serving.config import ServingConfig
from serving.errors import ServiceUnavailable, StorefrontError


class TooManyRequests(StorefrontError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: int, details: dict | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class Limiter:
    """The storefront's limits over one `limits` storage on the state Redis (never evicted)."""

    def __init__(self, config: ServingConfig):
        counters = storage.RedisStorage(
            config.state_redis_url,
            key_prefix="ratelimit",
            socket_timeout=config.redis_timeout_seconds,
            socket_connect_timeout=config.redis_timeout_seconds,
            retry=reconnect_once(),
        )
        self.window = strategies.FixedWindowRateLimiter(counters)
        self.in_process = strategies.FixedWindowRateLimiter(storage.MemoryStorage())
        self.rates = {
            "checkout": parse_many(config.checkout_rate_limit),
            "new_shopper": parse_many(config.new_shopper_rate_limit),
            "search": parse_many(config.search_rate_limit),
        }

    def hit(self, name: str, who: str, message: str, fail_closed: bool = False) -> None:
        """Counts one `name` event of `who`; TooManyRequests (429 + Retry-After) past any of its rates. When the
        state Redis cannot count: ServiceUnavailable with `fail_closed`, else counted in this worker."""
        try:
            with state_redis().breaker.guard():  # the state role's breaker: its counters live there
                exceeded = self._exceeded(self.window, name, who)
        except redis.RedisError as exc:
            metrics.RATE_LIMIT_DEGRADED.labels(name).inc()
            if fail_closed:
                raise ServiceUnavailable(
                    f"{name.replace('_', ' ')} limit cannot be counted right now (the state store is unavailable);"
                    " retry in a second",
                    code="limit_unavailable",
                    details={"limit": name},
                ) from exc
            current_app.logger.warning("%s rate limit counted in this worker, Redis unavailable: %s", name, exc)
            exceeded = self._exceeded(self.in_process, name, who)
        if exceeded is None:
            return
        rate, reset_at = exceeded
        metrics.RATE_LIMITED.labels(name).inc()
        raise TooManyRequests(
            f"{message} (limit {rate}); retry after the Retry-After seconds",
            retry_after=max(1, math.ceil(reset_at - time.time())),
            details={"limit": name, "rate": str(rate)},
        )

    def _exceeded(self, window: strategies.FixedWindowRateLimiter, name: str, who: str) -> tuple | None:
        """(rate, reset time) of the first of `name`'s rates this hit exceeds in `window`, or None."""
        for rate in self.rates[name]:
            if not window.hit(rate, name, who):
                return rate, window.get_window_stats(rate, name, who).reset_time
        return None


def limiter() -> Limiter:
    return current_app.extensions["bfp_limiter"]


def client_address() -> str:
    """The client's address: the peer, or the one the configured trusted proxies put in X-Forwarded-For
    (werkzeug's ProxyFix, set up in create_app, rewrote remote_addr; a client cannot forge past the proxies)."""
    return request.remote_addr or "unknown"


def network_of(address: str, ipv4_prefix: int = 24, ipv6_prefix: int = 64) -> str:
    """The network an address is in: its IPv4 /24, its IPv6 /64 (one subscriber's: a host picks any address in
    it at will), or the text as it is when it is no address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def client_network() -> str:
    """The client's network, for purchase limits (serving.checkout.service)."""
    return network_of(client_address())


def client_key() -> str:
    """Whom the per-client rate limits count: an IPv4 address, or an IPv6 /64 (a per-address IPv6 key would let
    one host mint 2^64 of them)."""
    address = client_address()
    return network_of(address, ipv4_prefix=32)


def check_checkout_rate(customer_id: int | None) -> None:
    limiter().hit("checkout", f"shopper:{customer_id}", "too many checkout attempts")


def check_new_shopper_rate() -> None:
    limiter().hit(
        "new_shopper", f"client:{client_key()}", "too many new shopper sessions from your address", fail_closed=True
    )


def check_search_rate() -> None:
    limiter().hit("search", f"client:{client_key()}", "too many searches from your address")
