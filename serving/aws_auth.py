"""The storefront's credentials on AWS, none of them stored in the pod: its service-account role (IRSA) signs
short-lived IAM tokens for RDS Proxy and ElastiCache, and reads its two keys from Secrets Manager at start.

* BFP_DATABASE_IAM_AUTH=on: every new pooled connection gets a fresh RDS IAM token for DATABASE_URL's user and
  host as its password (tokens last 15 minutes and are checked only when connecting).
* BFP_REDIS_IAM_AUTH=on: every new Redis connection authenticates as the URL's user with an ElastiCache IAM
  token for the replication group the URL's host names.
* <NAME>_SECRET_ARN for BFP_SECRET_KEY and BFP_ADMIN_TOKEN: the setting is that secret's value (unless the
  setting itself is set).

boto3 is imported only when one of these is on: locally nothing here runs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import psycopg
import redis

SECRET_SETTINGS = ("BFP_SECRET_KEY", "BFP_ADMIN_TOKEN")
TOKEN_SECONDS = 900  # both services accept a token for 15 minutes
TOKEN_REUSE_SECONDS = 600  # a Redis token is reused for new connections this long, then signed again


class AwsAuthError(RuntimeError):
    """A credential could not be obtained; the message says which and what to check."""


def _session():
    import boto3

    # AWS_REGION is what the pod sets (botocore itself reads AWS_DEFAULT_REGION)
    return boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)


def resolve_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with each of SECRET_SETTINGS filled from its <NAME>_SECRET_ARN when only the ARN is set."""
    resolved = dict(env)
    wanted = {name: env[f"{name}_SECRET_ARN"] for name in SECRET_SETTINGS if env.get(f"{name}_SECRET_ARN")}
    wanted = {name: arn for name, arn in wanted.items() if not env.get(name)}
    if not wanted:
        return resolved
    client = _session().client("secretsmanager")
    for name, arn in wanted.items():
        try:
            resolved[name] = client.get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:
            raise AwsAuthError(
                f"{name}_SECRET_ARN={arn}: cannot read the secret ({exc}); check the pod's service-account role"
            ) from exc
    return resolved


def rds_token(conninfo: str, user: str | None = None) -> str:
    """An RDS (or RDS Proxy) IAM token for the host, port and user of `conninfo` (a postgresql:// URL)."""
    url = urlsplit(conninfo)
    user = user or url.username
    if not url.hostname or not user:
        raise AwsAuthError("BFP_DATABASE_IAM_AUTH=on needs DATABASE_URL with a user and a host")
    return (
        _session().client("rds").generate_db_auth_token(DBHostname=url.hostname, Port=url.port or 5432, DBUsername=user)
    )


class IamAuthConnection(psycopg.Connection):
    """A psycopg connection whose password is a fresh RDS IAM token, whatever reconnects it (the pool's
    replacements after a failover or a restart sign again)."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs):
        kwargs["password"] = rds_token(conninfo, kwargs.get("user"))
        return super().connect(conninfo, **kwargs)


def replication_group(host: str) -> str:
    """The replication group an ElastiCache endpoint names: master.<group>.…, clustercfg.<group>.…,
    <group>-ro.… (reader) or <group>.…"""
    labels = host.split(".")
    group = labels[1] if labels[0] in ("master", "clustercfg", "replica") and len(labels) > 1 else labels[0]
    return group.removesuffix("-ro")


def elasticache_token(group: str, user: str, region: str | None = None) -> str:
    """An ElastiCache IAM authentication token (a SigV4-presigned `connect` request for `user` on `group`)."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    session = _session()
    credentials = session.get_credentials()
    if credentials is None:
        raise AwsAuthError("BFP_REDIS_IAM_AUTH=on but no AWS credentials: check the pod's service-account role")
    region = region or session.region_name
    if not region:
        raise AwsAuthError("BFP_REDIS_IAM_AUTH=on needs AWS_REGION")
    request = AWSRequest(method="GET", url=f"http://{group}/?{urlencode({'Action': 'connect', 'User': user})}")
    SigV4QueryAuth(credentials, "elasticache", region, expires=TOKEN_SECONDS).add_auth(request)
    return request.url.removeprefix("http://")


class ElastiCacheIamCredentials(redis.CredentialProvider):
    """(user, token) for each new Redis connection, signed again every TOKEN_REUSE_SECONDS."""

    def __init__(self, url: str):
        parsed = urlsplit(url)
        if not parsed.username or not parsed.hostname:
            raise AwsAuthError(f"BFP_REDIS_IAM_AUTH=on needs the Redis URL's user: rediss://user@host, got {url!r}")
        self.user, self.group = parsed.username, replication_group(parsed.hostname)
        self._token, self._signed_at = "", 0.0
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            if time.monotonic() - self._signed_at > TOKEN_REUSE_SECONDS:
                self._token, self._signed_at = elasticache_token(self.group, self.user), time.monotonic()
            return self.user, self._token


def redis_connection(url: str, iam: bool) -> tuple[str, dict]:
    """(URL, extra keyword arguments) of a Redis client or pool for `url`: with IAM, the user moves from the URL
    to the credential provider (redis-py takes one or the other)."""
    if not iam:
        return url, {}
    provider = ElastiCacheIamCredentials(url)
    parsed = urlsplit(url)
    bare = parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[-1]).geturl()
    return bare, {"credential_provider": provider}
