"""Redis cache-aside with stampede protection; a Redis outage falls back to the loader, never fails a read."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import redis
import redis.client
from circuitbreaker import STATE_HALF_OPEN, STATE_OPEN, CircuitBreaker
from flask import current_app, g, has_request_context
from redis.backoff import NoBackoff
from redis.retry import Retry

from serving import metrics
from serving.aws_auth import redis_connection
from serving.config import ServingConfig
from serving.near_cache import NearCache

# A missing product is remembered briefly so bad ids do not reach the database on every request.
NEGATIVE_TTL_SECONDS = 60
# One request per key recomputes a missing value; the others wait this long for it, then load it themselves.
LOCK_MILLISECONDS = 2000
WAIT_FOR_LOADER_SECONDS = 0.5
WAIT_STEP_SECONDS = 0.01
# KEYS: product keys then keys to delete; ARGV[1]: how many product keys, then their new stock levels.
LOWER_STOCK_LUA = """
local products = tonumber(ARGV[1])
for i = 1, products do
  local raw = redis.call('GET', KEYS[i])
  if raw and raw ~= 'null' then
    local product = cjson.decode(raw)
    local stock = tonumber(ARGV[i + 1])
    if stock < product['stock'] then
      product['stock'] = stock
      redis.call('SET', KEYS[i], cjson.encode(product), 'KEEPTTL')
    end
  end
end
for i = products + 1, #KEYS do
  redis.call('DEL', KEYS[i])
end
return products
"""


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_json_default, separators=(",", ":")).encode()


def jsonable(value: Any) -> Any:
    """Database rows as JSON-ready values (decimals as strings, timestamps ISO 8601), as the cache holds them."""
    return json.loads(dumps(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _failed_earlier(role: str) -> bool:
    return has_request_context() and role in g.get("redis_failed", ())


def _note_failure(role: str) -> None:
    if has_request_context():
        g.redis_failed = {*g.get("redis_failed", ()), role}


class RedisBreaker(CircuitBreaker):
    """The `circuitbreaker` library's breaker, one per Redis role per worker process, shared by its threads:
    after two calls in a row fail to connect or time out, calls fail at once for a second; then one call (one
    thread: the others still fail at once) tries again, and closes the circuit if it is answered. A frozen
    Redis thus costs the worker one timeout per second, not one per request."""

    FAILURE_THRESHOLD = 2
    RECOVERY_TIMEOUT = 1
    EXPECTED_EXCEPTION = (redis.ConnectionError, redis.TimeoutError)

    def __init__(self, name: str):
        super().__init__(name=name)
        self._trial = threading.Lock()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Runs the block through the breaker; redis.ConnectionError at once while the circuit is open."""
        state = self.state
        trial = state == STATE_HALF_OPEN
        if state == STATE_OPEN or (trial and not self._trial.acquire(blocking=False)):
            metrics.REDIS_SHORT_CIRCUITED.labels(self.name).inc()
            raise redis.ConnectionError(f"Redis ({self.name}) circuit open: it failed to answer just now")
        try:
            with self:
                yield
        finally:
            if trial:
                self._trial.release()


class RequestScopedRedis(redis.Redis):
    """A client of one Redis role behind its worker's circuit breaker that, once Redis failed to answer in a
    request, also fails the request's later calls to that role at once: a frozen server would cost every
    call its timeout, and a page makes several (cart, products, menu)."""

    role: str
    breaker: RedisBreaker

    def execute_command(self, *args, **options):
        if _failed_earlier(self.role):
            raise redis.ConnectionError(f"Redis ({self.role}) did not answer earlier in this request")
        try:
            with self.breaker.guard():
                return super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError):  # not a reply error (NOSCRIPT is routine)
            _note_failure(self.role)
            raise

    def pipeline(self, transaction=True, shard_hint=None) -> RequestScopedPipeline:
        pipe = RequestScopedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.role, pipe.breaker = self.role, self.breaker
        return pipe


class RequestScopedPipeline(redis.client.Pipeline):
    """The pipeline of RequestScopedRedis: the same rules for its one round trip."""

    role: str
    breaker: RedisBreaker

    def execute(self, raise_on_error: bool = True):
        if _failed_earlier(self.role):
            self.reset()
            raise redis.ConnectionError(f"Redis ({self.role}) did not answer earlier in this request")
        try:
            with self.breaker.guard():
                return super().execute(raise_on_error)
        except (redis.ConnectionError, redis.TimeoutError):
            self.reset()
            _note_failure(self.role)
            raise


def reconnect_once() -> Retry:
    """Every Redis client's retry rule: reconnect once at once after a broken connection (a restarted server),
    never after a timeout (a frozen server would cost the timeout twice)."""
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def redis_client(url: str, config: ServingConfig, role: str) -> RequestScopedRedis:
    """A client of one Redis role (`cache` or `state`) with short socket timeouts and its own breaker."""
    # One reconnect without backoff (a connection that died with a restarted server), no more (redis-py's
    # default retries 3 times with backoff, past a second); RequestScopedRedis fails the request's later calls
    # to the role at once, and the role's breaker the worker's other requests.
    url, credentials = redis_connection(url, config.redis_iam_auth)
    client = RequestScopedRedis.from_url(
        url,
        **credentials,
        socket_timeout=config.redis_timeout_seconds,
        socket_connect_timeout=config.redis_timeout_seconds,
        health_check_interval=30,
        # reconnect once when the connection broke (a restarted server), never after a timeout: a frozen
        # server would cost the timeout twice
        retry=reconnect_once(),
    )
    client.role, client.breaker = role, RedisBreaker(role)
    return client


def state_redis() -> RequestScopedRedis:
    """The state role's client (carts): a Redis that never evicts, apart from the cache's."""
    return current_app.extensions["bfp_state_redis"]


class Cache:
    """Cache-aside over the cache role's Redis (it evicts the least recently used entries at its bound)."""

    def __init__(self, config: ServingConfig):
        self.config = config
        self.client = redis_client(config.cache_redis_url, config, "cache")
        # The hot entries also live in the process, for as long as Redis pushes their invalidations.
        self.near = NearCache(
            config.cache_redis_url,
            config.near_cache_items,
            config.near_cache_seconds,
            config.redis_timeout_seconds,
            config.near_cache_stale_seconds,
            iam_auth=config.redis_iam_auth,
        )
        self._loading: dict[str, threading.Event] = {}  # key -> set when its one load in this process is done
        self._loading_lock = threading.Lock()

    def get_or_load(self, kind: str, key: str, ttl: int, loader: Callable[[], Any]) -> Any:
        """The cached value of `key`, else `loader()` stored for `ttl` seconds (None for a shorter time)."""
        return json.loads(self.get_or_load_json(kind, key, ttl, loader))

    def get_or_load_json(self, kind: str, key: str, ttl: int, loader: Callable[[], Any]) -> bytes:
        """As get_or_load, but the JSON bytes themselves: a hot endpoint can answer them without re-encoding."""
        try:
            raw, near = self._read(key)
        except redis.RedisError:
            metrics.cache_lookups(kind, "error").inc()
            return self._load_once(kind, key, loader)
        if raw is not None:
            metrics.cache_lookups(kind, "near_hit" if near else "hit").inc()
            return raw
        metrics.cache_lookups(kind, "miss").inc()
        lock_key = f"lock:{key}"
        try:
            holds_lock = bool(self.client.set(lock_key, b"1", nx=True, px=LOCK_MILLISECONDS))
            if not holds_lock:
                raw = self._wait_for(key, lock_key)
                if raw is not None:
                    return raw
        except redis.RedisError:
            return self._load_once(kind, key, loader)
        try:
            metrics.CACHE_LOADS.labels(kind).inc()
            value = loader()
        except BaseException:
            # a raising loader (a 404, a shed request) releases the lock too: the waiters see it gone and load
            # (or fail) themselves at once instead of polling for the lock's lifetime
            if holds_lock:
                self._release(lock_key)
            raise
        raw = dumps(value)
        try:
            self.client.set(key, raw, ex=ttl if value is not None else NEGATIVE_TTL_SECONDS)
        except redis.RedisError:
            metrics.cache_lookups(kind, "error").inc()
        if holds_lock:
            self._release(lock_key)
        return raw

    def _load_once(self, kind: str, key: str, loader: Callable[[], Any]) -> bytes:
        """Redis cannot be asked: one thread of this process loads `key` from the database, the others wait for
        its answer (a bounded wait, then they load themselves), and the answer is kept near for the outage's
        bound (NearCache.keep_during_outage): a cache-role outage costs the database one read per key per
        process, not one per request."""
        kept = self.near.get(key)
        if kept is not None:
            metrics.cache_lookups(kind, "near_stale").inc()
            return kept
        with self._loading_lock:
            done = self._loading.get(key)
            loads = done is None
            if loads:
                done = self._loading[key] = threading.Event()
        if not loads:
            done.wait(WAIT_FOR_LOADER_SECONDS)
            kept = self.near.get(key)
            if kept is not None:
                metrics.cache_lookups(kind, "near_stale").inc()
                return kept
        try:
            metrics.CACHE_LOADS.labels(kind).inc()
            raw = dumps(loader())
            self.near.keep_during_outage(key, raw)
            return raw
        finally:
            if loads:
                with self._loading_lock:
                    self._loading.pop(key, None)
                done.set()

    def _release(self, lock_key: str) -> None:
        try:
            self.client.delete(lock_key)
        except redis.RedisError:
            pass  # it expires with its TTL

    def get_many(self, kind: str, keys: list[str]) -> list[bytes | None]:
        """The cached values of `keys` (None where missing, or all None when Redis is down): near copies, the
        rest in one round trip."""
        values = [self.near.get(key) for key in keys]  # near copies, stale ones for a bounded time in an outage
        far = [key for key, value in zip(keys, values, strict=True) if value is None]
        metrics.cache_lookups(kind, "near_hit").inc(len(keys) - len(far))
        if not far:
            return values
        epoch = self.near.epoch()
        try:
            raws = dict(zip(far, self.client.mget(far), strict=True))
        except redis.RedisError:
            metrics.cache_lookups(kind, "error").inc(len(far))
            return values
        metrics.cache_lookups(kind, "hit").inc(sum(raw is not None for raw in raws.values()))
        for key, raw in raws.items():
            if raw is not None:
                self.near.put(key, raw, epoch)
        return [value if value is not None else raws[key] for key, value in zip(keys, values, strict=True)]

    def _read(self, key: str, absent: bytes | None = None) -> tuple[bytes | None, bool]:
        """(value, whether it was the near copy): the near copy, else Redis's value (or `absent` when Redis has
        none), kept near for the next read. Raises RedisError."""
        raw = self.near.get(key)
        if raw is not None:
            return raw, True
        epoch = self.near.epoch()  # before the read: an invalidation during it keeps the value from being kept
        raw = self.client.get(key)
        if raw is None:
            raw = absent
        if raw is not None:
            self.near.put(key, raw, epoch)
        return raw, False

    def _wait_for(self, key: str, lock_key: str) -> bytes | None:
        """The value the lock's holder stores, or None as soon as the lock is gone without one (its loader
        failed) or the wait is over."""
        deadline = time.monotonic() + WAIT_FOR_LOADER_SECONDS
        while time.monotonic() < deadline:
            time.sleep(WAIT_STEP_SECONDS)
            raw, locked = self.client.pipeline(transaction=False).get(key).exists(lock_key).execute()
            if raw is not None or not locked:
                return raw
        return None

    def get_version(self, name: str) -> int:
        """A counter that is part of dependent keys; bumping it retires them all at once. 0 if Redis is down."""
        try:
            raw, _ = self._read(f"version:{name}", absent=b"0")  # absent = 0; its first INCR is pushed too
        except redis.RedisError:
            return 0
        return int(raw)

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
            self.near.evict([*keys, *(f"version:{name}" for name in versions)])  # this process at once
        except redis.RedisError as exc:
            current_app.logger.warning(
                "cache invalidation failed for %s %s (%s); entries expire by TTL", keys, versions, exc
            )

    def lower_stock(self, keys: list[str], stocks: list[int], also_delete: Iterable[str] = ()) -> None:
        """After a checkout commits: writes the new stock into the cached products (keeping them hot for the
        shoppers reading them) and deletes `also_delete`, in one round trip.

        Checkouts only ever lower stock, so applying min(cached, new) converges whatever order concurrent
        checkouts finish in; a restock goes through the admin endpoint, which deletes the entry instead.
        """
        also_delete = list(also_delete)
        try:
            self._lower_stock(keys=[*keys, *also_delete], args=[len(keys), *stocks])
            self.near.evict(keys)  # this process at once; the others when Redis pushes the change
        except redis.RedisError as exc:
            current_app.logger.warning("cache stock update failed for %s (%s); deleting them instead", keys, exc)
            self.invalidate([*keys, *also_delete])

    @functools.cached_property
    def _lower_stock(self):
        return self.client.register_script(LOWER_STOCK_LUA)

    def ping(self) -> bool:
        return pings(self.client)


def pings(client: redis.Redis) -> bool:
    """Whether the Redis behind `client` answers (within the client's timeout and its breaker)."""
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def cache() -> Cache:
    return current_app.extensions["bfp_cache"]
