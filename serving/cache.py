"""Redis cache-aside with stampede protection; a Redis outage falls back to the loader, never fails a read."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import redis
from flask import current_app

from serving import metrics
from serving.config import ServingConfig

# A missing product is remembered briefly so bad ids do not reach the database on every request.
NEGATIVE_TTL_SECONDS = 60
# One request per key recomputes a missing value; the others wait this long for it, then load it themselves.
LOCK_MILLISECONDS = 2000
WAIT_FOR_LOADER_SECONDS = 0.5
WAIT_STEP_SECONDS = 0.01


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_json_default, separators=(",", ":")).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot cache a {type(value).__name__}")


class Cache:
    """Cache-aside over one Redis client with short socket timeouts (a dead Redis costs milliseconds)."""

    def __init__(self, config: ServingConfig):
        self.config = config
        self.client = redis.Redis.from_url(
            config.redis_url,
            socket_timeout=config.redis_timeout_seconds,
            socket_connect_timeout=config.redis_timeout_seconds,
            health_check_interval=30,
        )

    def get_or_load(self, kind: str, key: str, ttl: int, loader: Callable[[], Any]) -> Any:
        """The cached value of `key`, else `loader()` stored for `ttl` seconds (None for a shorter time)."""
        try:
            raw = self.client.get(key)
        except redis.RedisError:
            metrics.CACHE.labels(kind, "error").inc()
            return loader()
        if raw is not None:
            metrics.CACHE.labels(kind, "hit").inc()
            return json.loads(raw)
        metrics.CACHE.labels(kind, "miss").inc()
        lock_key = f"lock:{key}"
        try:
            holds_lock = bool(self.client.set(lock_key, b"1", nx=True, px=LOCK_MILLISECONDS))
            if not holds_lock:
                raw = self._wait_for(key)
                if raw is not None:
                    return json.loads(raw)
        except redis.RedisError:
            return loader()
        value = loader()
        try:
            self.client.set(key, dumps(value), ex=ttl if value is not None else NEGATIVE_TTL_SECONDS)
            if holds_lock:
                self.client.delete(lock_key)
        except redis.RedisError:
            metrics.CACHE.labels(kind, "error").inc()
        return json.loads(dumps(value))  # the same shape whether it came from Redis or the database

    def _wait_for(self, key: str) -> bytes | None:
        deadline = time.monotonic() + WAIT_FOR_LOADER_SECONDS
        while time.monotonic() < deadline:
            time.sleep(WAIT_STEP_SECONDS)
            raw = self.client.get(key)
            if raw is not None:
                return raw
        return None

    def get_version(self, name: str) -> int:
        """A counter that is part of dependent keys; bumping it retires them all at once. 0 if Redis is down."""
        try:
            return int(self.client.get(f"version:{name}") or 0)
        except redis.RedisError:
            return 0

    def invalidate(self, keys: Iterable[str], versions: Iterable[str] = ()) -> None:
        """Deletes `keys` and bumps `versions`; called after the change committed. Errors are logged, not raised."""
        keys, versions = list(keys), list(versions)
        try:
            pipe = self.client.pipeline(transaction=False)
            if keys:
                pipe.delete(*keys)
            for name in versions:
                pipe.incr(f"version:{name}")
            pipe.execute()
        except redis.RedisError as exc:
            current_app.logger.warning(
                "cache invalidation failed for %s %s (%s); entries expire by TTL", keys, versions, exc
            )

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def cache() -> Cache:
    return current_app.extensions["bfp_cache"]
