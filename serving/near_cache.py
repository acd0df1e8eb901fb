"""A per-process copy of the hottest cache entries (products, category pages, the menu), kept right by Redis.

Each worker process holds one listener connection that turns on CLIENT TRACKING in broadcast mode for the
cached key prefixes, redirected to itself, and subscribes to `__redis__:invalidate`: whoever changes one of
those keys in Redis (a checkout's stock update, an admin change, an expiry, a FLUSHDB) makes Redis push the
key's name to every worker, which drops its copy. That works from Redis 6 over RESP2, so on the local Redis
7.0 and ElastiCache 7.1 (redis-py's own client-side cache needs RESP3 and refuses servers older than 7.4).

Safety rules: entries are stored only while the listener is subscribed; when its connection is lost (or answers
no heartbeat) the entries it held are served for at most `stale_seconds` more (a cache-role outage, an
ElastiCache failover, must not land every read on PostgreSQL at once: a near copy at most that stale beats a
database under a stampede), then dropped; what the database answers meanwhile is kept the same bounded time
(`keep_during_outage`), so each key is loaded once per process per bound. It starts again empty after
reconnecting. A read that raced an invalidation is not stored (the epoch check in `put`). The writer's own
process drops its copies at once (`evict`), so a change is visible to its own next request without waiting for
the push.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

import cachetools
import redis

from serving.aws_auth import redis_connection

log = logging.getLogger("serving.near_cache")
INVALIDATION_CHANNEL = "__redis__:invalidate"
# The keys the near cache may hold: everything else (carts, rate limits, locks) always goes to Redis.
TRACKED_PREFIXES = ("product:", "page:", "version:", "categories")
HEARTBEAT_SECONDS = 1.0  # an idle listener pings this often; no answer within the Redis timeout = lost
RECONNECT_SECONDS = 0.5


def is_tracked(key: str) -> bool:
    return key.startswith(TRACKED_PREFIXES)


class NearCache:
    """Entries by key, bounded in number and age; `epoch` counts invalidations (see `put`)."""

    def __init__(
        self,
        redis_url: str,
        items: int,
        seconds: float,
        timeout_seconds: float,
        stale_seconds: float = 10.0,
        iam_auth: bool = False,
    ):
        self.enabled = items > 0
        self._entries: cachetools.TTLCache = cachetools.TTLCache(maxsize=max(items, 1), ttl=seconds)
        self.stale_seconds = stale_seconds
        self._lost_at: float | None = None  # when the listener was lost (stale copies served until + stale_seconds)
        self._outage: cachetools.TTLCache = cachetools.TTLCache(maxsize=max(items, 1), ttl=max(stale_seconds, 0.001))
        self._lock = threading.Lock()
        self._epoch = 0
        self._live = False  # True while the listener is subscribed
        self._redis_url = redis_url
        self._timeout = timeout_seconds
        self._iam_auth = iam_auth
        self._listener: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self._live

    def epoch(self) -> int:
        return self._epoch

    def get(self, key: str) -> bytes | None:
        """The near copy of `key`, or None (not held, or held too long since the listener was lost)."""
        if self._live:
            with self._lock:
                return self._entries.get(key)
        self._start_listener()
        if not self.enabled:
            return None
        with self._lock:
            if self._lost_at is not None and time.monotonic() - self._lost_at > self.stale_seconds:
                self._entries.clear()  # the bound is spent: what was held may be changed by now
                self._lost_at = None
            return self._entries.get(key) or self._outage.get(key)

    def keep_during_outage(self, key: str, value: bytes) -> None:
        """What the database answered while the listener is lost, kept for stale_seconds at most: one load per key
        per process per bound, not one per request."""
        if self.enabled and not self._live and is_tracked(key):
            with self._lock:
                self._outage[key] = value

    def put(self, key: str, value: bytes, epoch: int) -> None:
        """Keeps `value` read from Redis, unless an invalidation arrived since `epoch` was taken before the read
        (the value may be the one the invalidation retired) or the listener is not subscribed."""
        if not self._live or not is_tracked(key):
            return
        with self._lock:
            if epoch == self._epoch:
                self._entries[key] = value

    def evict(self, keys) -> None:
        with self._lock:
            self._epoch += 1
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._outage.clear()

    def _start_listener(self) -> None:
        """Started on first use, so in the worker process (gunicorn forks after importing the config)."""
        if not self.enabled or self._listener is not None:
            return
        with self._lock:
            if self._listener is None:
                self._listener = threading.Thread(
                    target=_listen, args=(weakref.ref(self),), name="near-cache-invalidations", daemon=True
                )
                self._listener.start()

    def _subscribe(self) -> redis.Connection:
        url, credentials = redis_connection(self._redis_url, self._iam_auth)
        pool = redis.ConnectionPool.from_url(
            url, **credentials, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
        )
        connection = pool.make_connection()
        connection.connect()
        connection.send_command("CLIENT", "ID")
        own_id = connection.read_response()
        prefixes = [part for prefix in TRACKED_PREFIXES for part in ("PREFIX", prefix)]
        connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes)
        connection.read_response()
        connection.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
        connection.read_response()
        return connection

    def _on_message(self, message) -> None:
        if message[0] == b"message" and message[1] == INVALIDATION_CHANNEL.encode():
            keys = message[2]
            if keys is None:  # FLUSHDB / FLUSHALL
                self.clear()
            else:
                self.evict(key.decode() for key in keys)

    def _lost(self) -> None:
        with self._lock:
            self._epoch += 1  # a read in flight is not stored
            if self._live:
                self._lost_at = time.monotonic()  # the held copies serve stale_seconds more, then go
            self._live = False


def _listen(near_ref: weakref.ref) -> None:
    """The listener thread: subscribe, apply invalidations, heartbeat; on any failure drop everything and
    reconnect. Ends when its NearCache is gone (an app built by a test and released)."""
    was_lost = False
    while (near := near_ref()) is not None:
        connection = None
        try:
            connection = near._subscribe()
            near.clear()  # whatever was read before tracking began is unknown to it
            near._lost_at = None
            near._live = True
            if was_lost:
                log.warning("near cache: invalidations subscribed again; serving near copies again")
            was_lost = False
            del near
            while (near := near_ref()) is not None:
                if connection.can_read(timeout=HEARTBEAT_SECONDS):
                    near._on_message(connection.read_response())
                else:
                    connection.send_command("PING")  # in subscribe mode the reply is ['pong', '']
                    if not connection.can_read(timeout=near._timeout):
                        raise redis.TimeoutError("no answer to the near cache's heartbeat")
                    near._on_message(connection.read_response())
                del near
        except (redis.RedisError, OSError) as exc:
            near = near_ref()
            if near is not None:
                near._lost()
                if not was_lost:
                    log.warning("near cache: lost its invalidation connection (%s); every read goes to Redis", exc)
            was_lost = True
        finally:
            if connection is not None:
                connection.disconnect()
        del near
        time.sleep(RECONNECT_SECONDS)
