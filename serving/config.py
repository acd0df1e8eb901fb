"""The storefront's settings, read once from the environment at start-up into a small typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from limits import parse_many

from serving import aws_auth

REQUIRED_OUTSIDE_LOCAL = ("DATABASE_URL", "REDIS_URL", "BFP_CACHE_REDIS_URL")
ADMIN_TOKEN_MIN_LENGTH = 32  # a bearer token guessed online must be out of reach: 32 hex = 128 bits


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable and what to set."""


@dataclass(frozen=True)
class ServingConfig:
    secret_key: str  # signs the shopper's session cookie; required, never defaulted
    database_url: str
    redis_url: str  # the state role: carts and rate-limit counters (noeviction, persisted)
    admin_token: str | None  # the admin endpoint is disabled without one
    secret_key_fallbacks: tuple[str, ...] = ()  # earlier keys that still verify (rotation without logging out)
    cache_redis_url: str = "redis://127.0.0.1:56380/0"  # the cache role: entries it may evict (allkeys-lru)
    db_pool_size: int = 8  # connections per process: gunicorn gthread threads share them
    db_pool_wait_seconds: float = 0.5  # then 503 + Retry-After instead of queueing forever
    db_pool_max_waiting: int = 64  # beyond this many queued requests, shed at once
    # how long a lost connection's replacement is retried before it is given up (then requests open connections
    # again as they come): bounds the time from the database's return to the first request served
    db_reconnect_seconds: float = 1.0
    # off behind a transaction pooler (PgBouncer 1.18 in transaction mode, RDS Proxy): a statement prepared on
    # one server connection does not exist on the next transaction's
    db_prepared_statements: bool = True
    # a blackholed endpoint (a failover's old address) fails a connection attempt in seconds, not after the
    # kernel's two minutes; keepalives find a connection whose peer vanished without a word
    db_connect_timeout_seconds: int = 3
    statement_timeout_ms: int = 2000
    search_timeout_ms: int = 1500
    redis_timeout_seconds: float = 0.25
    product_ttl_seconds: int = 3600
    category_ttl_seconds: int = 300
    cart_ttl_seconds: int = 86400
    near_cache_items: int = 20000  # per process; 0 = every read goes to Redis
    near_cache_seconds: float = 60.0  # upper bound on a near copy's age, beside Redis's pushed invalidations
    near_cache_stale_seconds: float = 10.0  # how long near copies serve once the cache role is lost (bounded staleness)
    db_checkout_reserved: int = 2  # connections of the pool reads may not take: checkouts keep them
    page_size: int = 24
    checkout_rate_limit: str = "20 per minute"  # per shopper; `limits` notation
    new_shopper_rate_limit: str = "20 per minute;200 per hour"  # new shopper identities per client address
    search_rate_limit: str = "30 per minute"  # title searches per client address
    search_connections: int = 2  # pooled connections searches may hold at once per process; more wait, then 503
    internal_port: int | None = None  # the listener of /metrics, probes, admin and API docs; None = one listener
    https: bool = False  # served over HTTPS (behind the ALB): Secure __Host- session cookie and HSTS
    database_iam_auth: bool = False  # AWS: each new connection's password is an RDS IAM token (serving.aws_auth)
    redis_iam_auth: bool = False  # AWS: each new Redis connection authenticates with an ElastiCache IAM token
    api_docs: bool = True  # Swagger UI (served from the package, on the internal listener); off in production
    trusted_proxies: int = 0  # proxies in front that append to X-Forwarded-For (the ALB: 1); 0 = the peer
    load_balancer: str | None = None  # what fronts the pods (e.g. "alb"): then trusted_proxies is required
    lock_timeout_ms: int = 1000  # a checkout waiting on a hot product's row gives up (503) instead of queueing
    default_purchase_limit: int = 10  # units per customer, household and network of a product nobody limited...
    scarce_stock: int = 200  # ...once its stock is at or below this (0 for the limit: none)

    @property
    def limit_policy(self):
        """The checkout's limit of a product nobody limited (serving.checkout.service.LimitPolicy)."""
        from serving.checkout.service import LimitPolicy

        return LimitPolicy(self.default_purchase_limit, self.scarce_stock)

    @property
    def state_redis_url(self) -> str:
        """The Redis that holds carts and rate-limit counters (never evicts)."""
        return self.redis_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServingConfig:
        """Builds the settings from BFP_* variables; fails with the variable's name when one is wrong."""
        env = os.environ if env is None else env
        if any(env.get(f"{name}_SECRET_ARN") for name in aws_auth.SECRET_SETTINGS):
            env = aws_auth.resolve_secrets(env)  # on AWS the two keys come from Secrets Manager
        secret_key = env.get("BFP_SECRET_KEY", "")
        if len(secret_key) < 16:
            raise ConfigError(
                "BFP_SECRET_KEY must be set to a random string of at least 16 characters "
                '(e.g. python -c "import secrets; print(secrets.token_hex(32))"); `make serve` creates one'
            )
        if env.get("BFP_TARGET", "local") != "local":
            # the deployed storefront never falls back to this machine's services
            missing = [name for name in REQUIRED_OUTSIDE_LOCAL if not env.get(name)]
            if missing:
                raise ConfigError(
                    f"BFP_TARGET={env['BFP_TARGET']} needs {', '.join(missing)} (the local defaults point at "
                    "127.0.0.1); the stack sets them in the pod's environment (docs/deploy.md)"
                )
        load_balancer = env.get("BFP_LOAD_BALANCER") or None
        trusted_proxies = _number(env, "BFP_TRUSTED_PROXIES", int, 0, allow_zero=True)
        if load_balancer and not trusted_proxies and env.get("BFP_TARGET", "local") != "local":
            raise ConfigError(
                f"BFP_LOAD_BALANCER={load_balancer} is declared but BFP_TRUSTED_PROXIES is 0: every shopper would "
                "have the balancer's address and share its limits; set BFP_TRUSTED_PROXIES=1 (one ALB) "
                "(docs/deploy.md)"
            )
        admin_token = env.get("BFP_ADMIN_TOKEN") or None
        if admin_token is not None and len(admin_token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ConfigError(
                f"BFP_ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN_LENGTH} characters (it was {len(admin_token)}), "
                'e.g. python -c "import secrets; print(secrets.token_hex(32))"; leave it unset to turn admin off'
            )
        fallbacks = tuple(key for key in (env.get("BFP_SECRET_KEY_FALLBACKS") or "").split(",") if key)
        if any(len(key) < 16 for key in fallbacks):
            raise ConfigError("BFP_SECRET_KEY_FALLBACKS: each earlier key (comma-separated) has at least 16 characters")
        return cls(
            secret_key=secret_key,
            secret_key_fallbacks=fallbacks,
            database_url=env.get("DATABASE_URL", "postgresql://bfp@127.0.0.1:55432/bfp"),
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:56379/0"),
            admin_token=admin_token,
            cache_redis_url=env.get("BFP_CACHE_REDIS_URL", "redis://127.0.0.1:56380/0"),
            db_pool_size=_number(env, "BFP_DB_POOL_SIZE", int, 8),
            db_pool_wait_seconds=_number(env, "BFP_DB_POOL_WAIT_SECONDS", float, 0.5),
            db_pool_max_waiting=_number(env, "BFP_DB_POOL_MAX_WAITING", int, 64),
            db_reconnect_seconds=_number(env, "BFP_DB_RECONNECT_SECONDS", float, 1.0),
            db_prepared_statements=_switch(env, "BFP_DB_PREPARED_STATEMENTS", True),
            db_connect_timeout_seconds=_number(env, "BFP_DB_CONNECT_TIMEOUT_SECONDS", int, 3),
            statement_timeout_ms=_number(env, "BFP_STATEMENT_TIMEOUT_MS", int, 2000),
            search_timeout_ms=_number(env, "BFP_SEARCH_TIMEOUT_MS", int, 1500),
            redis_timeout_seconds=_number(env, "BFP_REDIS_TIMEOUT_SECONDS", float, 0.25),
            near_cache_items=_number(env, "BFP_NEAR_CACHE_ITEMS", int, 20000, allow_zero=True),
            near_cache_seconds=_number(env, "BFP_NEAR_CACHE_SECONDS", float, 60.0),
            near_cache_stale_seconds=_number(env, "BFP_NEAR_CACHE_STALE_SECONDS", float, 10.0, allow_zero=True),
            db_checkout_reserved=_number(env, "BFP_DB_CHECKOUT_RESERVED", int, 2, allow_zero=True),
            checkout_rate_limit=_rate(env, "BFP_CHECKOUT_RATE_LIMIT", "20 per minute"),
            new_shopper_rate_limit=_rate(env, "BFP_NEW_SHOPPER_RATE_LIMIT", "20 per minute;200 per hour"),
            search_rate_limit=_rate(env, "BFP_SEARCH_RATE_LIMIT", "30 per minute"),
            search_connections=_number(env, "BFP_SEARCH_CONNECTIONS", int, 2),
            internal_port=_bind_port(env, "BFP_INTERNAL_BIND"),
            https=_switch(env, "BFP_HTTPS", False),
            database_iam_auth=_switch(env, "BFP_DATABASE_IAM_AUTH", False),
            redis_iam_auth=_switch(env, "BFP_REDIS_IAM_AUTH", False),
            api_docs=_switch(env, "BFP_API_DOCS", True),
            trusted_proxies=trusted_proxies,
            load_balancer=load_balancer,
            lock_timeout_ms=_number(env, "BFP_LOCK_TIMEOUT_MS", int, 1000),
            default_purchase_limit=_number(env, "BFP_DEFAULT_PURCHASE_LIMIT", int, 10, allow_zero=True),
            scarce_stock=_number(env, "BFP_SCARCE_STOCK", int, 200, allow_zero=True),
        )


def _number(env: Mapping[str, str], name: str, kind: type, default, allow_zero: bool = False):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name}={raw!r} must be {'0 or more' if allow_zero else 'greater than 0'}")
    return value


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a rate like '20 per minute' or '5/second'") from None
    return raw


def _bind_port(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if not raw:
        return None
    _, _, port = raw.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}={raw!r} must be HOST:PORT, e.g. 0.0.0.0:9000")
    return int(port)


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigError(f"{name}={env[name]!r} must be on or off")
    return raw == "on"
