"""Per-shopper rate limits (Flask-Limiter, counters in Redis): checkout attempts beyond the limit get a 429.

If Redis is down the limits are not enforced (swallow_errors): a limiter outage must not stop sales.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter

from serving.identity import current_shopper


def shopper_or_address() -> str:
    customer_id = current_shopper()
    return f"shopper:{customer_id}" if customer_id is not None else f"ip:{request.remote_addr}"


def checkout_limit() -> str:
    return current_app.config["BFP"].checkout_rate_limit


limiter = Limiter(key_func=shopper_or_address, strategy="fixed-window", headers_enabled=True, swallow_errors=True)


def init_rate_limits(app: Flask) -> None:
    config = app.config["BFP"]
    app.config.update(
        RATELIMIT_STORAGE_URI=config.redis_url,
        RATELIMIT_STORAGE_OPTIONS={
            "socket_timeout": config.redis_timeout_seconds,
            "socket_connect_timeout": config.redis_timeout_seconds,
        },
        RATELIMIT_KEY_PREFIX="ratelimit",
    )
    limiter.init_app(app)
