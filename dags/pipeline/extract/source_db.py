"""The OLTP database as the pipeline reads it: one way to open a connection (the extract's snapshot, the
reconciliation's reads). On AWS (BFP_DATABASE_IAM_AUTH=on) the password is an RDS IAM token for DATABASE_URL's
user, signed with the task's AWS connection and valid for 15 minutes: it is only checked when connecting, and
no password is stored anywhere (the stack grants rds-db:connect as bfp_extract only)."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg2

from pipeline.settings import Settings


def iam_token(settings: Settings) -> str:
    """An RDS IAM authentication token for DATABASE_URL's host, port and user."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    url = urlsplit(settings.database_url)
    if not url.hostname or not url.username:
        raise ValueError(
            "BFP_DATABASE_IAM_AUTH=on needs DATABASE_URL with a user and a host (postgresql://user@host/db)"
        )
    client = AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type="rds").get_conn()
    return client.generate_db_auth_token(DBHostname=url.hostname, Port=url.port or 5432, DBUsername=url.username)


def connect(settings: Settings, application_name: str):
    """A psycopg2 connection to DATABASE_URL with the session in UTC."""
    kwargs = {"options": "-c TimeZone=UTC", "application_name": application_name}
    if settings.database_iam_auth:
        kwargs["password"] = iam_token(settings)
    return psycopg2.connect(settings.database_url, **kwargs)
