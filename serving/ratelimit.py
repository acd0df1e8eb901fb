"""Per-shopper checkout rate limit: a fixed window counted in Redis by the `limits` library.

Only checkout calls it (no hook on every request: Flask-Limiter's global hooks add a measurable cost to each one).
If Redis is down the limit is not enforced: a limiter outage must not stop sales.
"""

from __future__ import annotations

import math
import time

import redis
from flask import current_app
from limits import parse, storage, strategies

from serving.config import ServingConfig
from serving.errors import StorefrontError


class TooManyRequests(StorefrontError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class CheckoutLimiter:
    def __init__(self, config: ServingConfig):
        self.rate = parse(config.checkout_rate_limit)
        counters = storage.RedisStorage(
            config.redis_url,
            key_prefix="ratelimit",
            socket_timeout=config.redis_timeout_seconds,
            socket_connect_timeout=config.redis_timeout_seconds,
        )
        self.window = strategies.FixedWindowRateLimiter(counters)

    def check(self, shopper: str) -> None:
        """Counts one checkout attempt of `shopper`; TooManyRequests (429 + Retry-After) past the limit."""
        try:
            if self.window.hit(self.rate, "checkout", shopper):
                return
            reset_at = self.window.get_window_stats(self.rate, "checkout", shopper).reset_time
        except redis.RedisError as exc:
            current_app.logger.warning("checkout rate limit not enforced, Redis unavailable: %s", exc)
            return
        raise TooManyRequests(
            f"too many checkout attempts (limit {self.rate}); retry after the Retry-After seconds",
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )


def check_checkout_rate(customer_id: int | None) -> None:
    current_app.extensions["bfp_checkout_limiter"].check(f"shopper:{customer_id}")
