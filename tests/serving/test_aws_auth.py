"""The storefront's credentials on AWS (serving.aws_auth): IAM tokens signed for RDS Proxy and ElastiCache, the
two keys read from Secrets Manager (moto stands in for it), and the migration Job's owner URL and IAM logins.
The tokens are checked for what AWS verifies (action, user, host, signature, expiry); the connections that
carry them are opened against the real local PostgreSQL and Redis."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import boto3
import psycopg
import pytest
import redis

from serving import aws_auth
from serving.config import ConfigError, ServingConfig
from serving.migrate import main as migrate
from serving.migrate import url_from_rds_secret
from support.net import free_port

KEY = "k" * 32


@pytest.fixture
def aws(monkeypatch):
    """A moto server standing in for AWS; boto3 clients of the test point at it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    yield boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=endpoint)
    server.stop()


def test_the_two_keys_come_from_secrets_manager(aws):
    arns = {
        name: aws.create_secret(Name=f"bfp/{name}", SecretString=value)["ARN"]
        for name, value in {"BFP_SECRET_KEY": "s" * 48, "BFP_ADMIN_TOKEN": "a" * 48}.items()
    }
    config = ServingConfig.from_env({f"{name}_SECRET_ARN": arn for name, arn in arns.items()})
    assert config.secret_key == "s" * 48 and config.admin_token == "a" * 48


def test_a_setting_given_outright_wins_over_its_secret(aws):
    config = ServingConfig.from_env({"BFP_SECRET_KEY": KEY, "BFP_ADMIN_TOKEN_SECRET_ARN": "arn:none"} | {
        "BFP_ADMIN_TOKEN": "t" * 40})  # fmt: skip
    assert config.secret_key == KEY and config.admin_token == "t" * 40


def test_an_unreadable_secret_names_the_setting_and_what_to_check(aws):
    with pytest.raises(aws_auth.AwsAuthError, match=r"BFP_SECRET_KEY_SECRET_ARN=arn:aws:.*service-account role"):
        ServingConfig.from_env({"BFP_SECRET_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:missing"})


def token_parts(token: str) -> tuple[str, dict]:
    signed = urlsplit("https://" + token)
    return signed.netloc, parse_qs(signed.query)


def test_the_database_password_is_a_fresh_rds_token_for_the_urls_user(aws, database_url):
    where, query = token_parts(aws_auth.rds_token("postgresql://storefront@proxy.example:5432/bfp"))
    assert where == "proxy.example:5432"
    assert query["Action"] == ["connect"] and query["DBUser"] == ["storefront"] and query["X-Amz-Expires"] == ["900"]
    # the connection class the pool uses hands libpq a token (the local server trusts its users: it opens)
    with aws_auth.IamAuthConnection.connect(database_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert "Action=connect" in conn.info.password and "X-Amz-Signature" in conn.info.password


def test_iam_on_the_database_needs_a_user(aws):
    with pytest.raises(aws_auth.AwsAuthError, match="needs DATABASE_URL with a user"):
        aws_auth.rds_token("postgresql://proxy.example/bfp")


@pytest.mark.parametrize(
    ("host", "group"),
    [
        ("master.bfp-state.abc123.use1.cache.amazonaws.com", "bfp-state"),
        ("clustercfg.bfp-cache.abc123.use1.cache.amazonaws.com", "bfp-cache"),
        ("bfp-state-ro.abc123.use1.cache.amazonaws.com", "bfp-state"),
        ("bfp-state.abc123.use1.cache.amazonaws.com", "bfp-state"),
    ],
)
def test_the_replication_group_is_read_from_the_endpoint(host, group):
    assert aws_auth.replication_group(host) == group


def test_redis_connections_authenticate_with_an_elasticache_token(aws, services):
    """The user moves from the URL to the credential provider; each new connection sends (user, token). The
    local Redis gets an ACL user that takes any password, so the connection opens as that user."""
    admin = redis.Redis.from_url(services.redis_url)
    admin.acl_setuser("bfp-storefront", enabled=True, nopass=True, keys=["*"], commands=["+@all"])
    try:
        url = services.redis_url.replace("redis://", "redis://bfp-storefront@")
        bare, options = aws_auth.redis_connection(url, iam=True)
        assert "bfp-storefront@" not in bare
        client = redis.Redis.from_url(bare, **options)
        assert client.acl_whoami() == "bfp-storefront"
        user, token = options["credential_provider"].get_credentials()
        where, query = token_parts(token)
        group = aws_auth.replication_group(urlsplit(url).hostname)
        assert user == "bfp-storefront" and where == group
        assert query["Action"] == ["connect"] and query["User"] == ["bfp-storefront"]
        assert query["X-Amz-Credential"][0].split("/")[3] == "elasticache"
        assert options["credential_provider"].get_credentials()[1] == token  # reused, not signed per connection
        client.close()
    finally:
        admin.acl_deluser("bfp-storefront")
        admin.close()


def test_iam_on_redis_needs_the_urls_user():
    with pytest.raises(aws_auth.AwsAuthError, match="needs the Redis URL's user"):
        aws_auth.redis_connection("rediss://master.bfp-state.x.cache.amazonaws.com:6379/0", iam=True)


def test_the_iam_switches_are_checked():
    with pytest.raises(ConfigError, match="BFP_REDIS_IAM_AUTH"):
        ServingConfig.from_env({"BFP_SECRET_KEY": KEY, "BFP_REDIS_IAM_AUTH": "maybe"})


def test_the_migration_job_reads_the_owners_rds_secret_and_makes_the_iam_logins(aws, database_url, monkeypatch):
    url = urlsplit(database_url)
    secret = {"engine": "postgres", "username": url.username, "password": "p@ss/word", "host": url.hostname,
              "port": url.port, "dbname": url.path.lstrip("/")}  # fmt: skip
    built = url_from_rds_secret(secret)
    assert built.endswith("?sslmode=require") and "p%40ss%2Fword@" in built
    arn = aws.create_secret(Name="bfp/owner", SecretString=json.dumps(secret))["ARN"]
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATION_DATABASE_SECRET_ARN", arn)
    # the local server does not speak TLS: the URL the secret gives is used as is otherwise
    monkeypatch.setattr("serving.migrate.url_from_rds_secret", lambda _: database_url)
    for _ in range(2):  # safe to run again
        assert migrate(["--logins"]) == 0
    with psycopg.connect(database_url) as conn:
        members = dict(conn.execute(
            "SELECT r.rolname, array_agg(g.rolname ORDER BY g.rolname) FROM pg_roles r"
            " JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid"
            " WHERE r.rolname IN ('storefront', 'bfp_extract') GROUP BY r.rolname"
        ).fetchall())  # fmt: skip
        login = dict(
            conn.execute("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('storefront', 'bfp_extract')")
        )
    assert "storefront_app" in members["storefront"] and "pipeline_extract" in members["bfp_extract"]
    assert login == {"storefront": True, "bfp_extract": True}


def test_a_missing_owner_secret_is_a_clear_error(aws, monkeypatch, capsys):
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATION_DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:gone")
    assert migrate([]) == 1
    assert "MIGRATION_DATABASE_SECRET_ARN=arn:aws:secretsmanager:us-east-1:1:secret:gone: cannot read it" in (
        capsys.readouterr().err
    )
