"""Rate limits counted in Redis by the `limits` library (fixed windows): checkout attempts per shopper, new
shopper identities per client address, searches per client address.

Only the limited endpoints call them (no hook on every request: Flask-Limiter's global hooks add a measurable
cost to each one). If Redis is down a limit is not enforced: a limiter outage must not stop sales.
"""

from __future__ import annotations

import math
import time

import redis
from flask import current_app, request
from limits import parse_many, storage, strategies

from serving import metrics
from serving.cache import reconnect_once, state_redis
from serving.config import ServingConfig
from serving.errors import StorefrontError


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
        self.rates = {
            "checkout": parse_many(config.checkout_rate_limit),
            "new_shopper": parse_many(config.new_shopper_rate_limit),
            "search": parse_many(config.search_rate_limit),
        }

    def hit(self, name: str, who: str, message: str) -> None:
        """Counts one `name` event of `who`; TooManyRequests (429 + Retry-After) past any of its rates."""
        try:
            with state_redis().breaker.guard():  # the state role's breaker: its counters live there
                for rate in self.rates[name]:
                    if not self.window.hit(rate, name, who):
                        reset_at = self.window.get_window_stats(rate, name, who).reset_time
                        break
                else:
                    return
        except redis.RedisError as exc:
            current_app.logger.warning("%s rate limit not enforced, Redis unavailable: %s", name, exc)
            return
        metrics.RATE_LIMITED.labels(name).inc()
        raise TooManyRequests(
            f"{message} (limit {rate}); retry after the Retry-After seconds",
            retry_after=max(1, math.ceil(reset_at - time.time())),
            details={"limit": name, "rate": str(rate)},
        )


def limiter() -> Limiter:
    return current_app.extensions["bfp_limiter"]


def client_address() -> str:
    """The client's address: the peer, or the one the configured trusted proxies put in X-Forwarded-For
    (werkzeug's ProxyFix, set up in create_app, rewrote remote_addr; a client cannot forge past the proxies)."""
    return request.remote_addr or "unknown"


def check_checkout_rate(customer_id: int | None) -> None:
    limiter().hit("checkout", f"shopper:{customer_id}", "too many checkout attempts")


def check_new_shopper_rate() -> None:
    limiter().hit("new_shopper", f"client:{client_address()}", "too many new shopper sessions from your address")


def check_search_rate() -> None:
    limiter().hit("search", f"client:{client_address()}", "too many searches from your address")
