"""Applies the ordered OLTP DDL files in sql/oltp/ once each, recording them in schema_migrations.

Usage: python -m serving.migrate [--database-url URL] [--logins]   (as the schema's owner)

The owner's URL: --database-url, else MIGRATION_DATABASE_URL, else (on AWS, the Kubernetes Job) the RDS secret
MIGRATION_DATABASE_SECRET_ARN names, else DATABASE_URL. --logins then makes the aws target's two IAM logins
(serving/sql/logins.sql).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import psycopg

log = logging.getLogger("serving.migrate")

DEFAULT_SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "oltp"
LOGINS_SQL = Path(__file__).resolve().parent / "sql" / "logins.sql"
# Any constant works; it only has to be the same for every process running migrations.
MIGRATION_LOCK_ID = 0x6266_7000

CREATE_VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    text PRIMARY KEY,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """A migration file cannot be applied, or was edited after it was applied."""


def migration_files(sql_dir: Path) -> list[Path]:
    """The migration files in apply order (by file name: NNNN_description.sql)."""
    files = sorted(sql_dir.glob("*.sql"))
    if not files:
        raise MigrationError(f"no migration files in {sql_dir}")
    return files


def apply_migrations(
    database_url: str, sql_dir: Path = DEFAULT_SQL_DIR, lock_timeout_ms: int | None = None
) -> list[str]:
    """Applies every migration not yet applied, each in its own transaction with a lock timeout; returns the new
    versions."""
    if lock_timeout_ms is None:
        lock_timeout_ms = int(os.environ.get("BFP_MIGRATION_LOCK_TIMEOUT_MS", "5000"))
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:  # closing also releases the advisory lock
        # Concurrent runners (several pods starting) wait here instead of racing on DDL.
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(CREATE_VERSIONS_TABLE)
        applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        for path in migration_files(sql_dir):
            text = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(text.encode()).hexdigest()
            version = path.stem
            if version in applied:
                if applied[version] != checksum:
                    raise MigrationError(
                        f"{path} changed after it was applied; add a new migration file instead of editing it"
                    )
                continue
            try:
                with conn.transaction():
                    # a migration waiting for a lock behind long transactions would queue every query on the
                    # table behind itself: it gives up instead, and is run again at a quieter moment
                    conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                    conn.execute(text)  # no parameters: the file's statements run as one script
                    conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum)
                    )
            except psycopg.errors.LockNotAvailable as exc:
                raise MigrationError(
                    f"{path}: waited more than {lock_timeout_ms} ms for a lock (a long transaction holds the table);"
                    " nothing was changed: run the migration again when traffic is lower, or raise"
                    " BFP_MIGRATION_LOCK_TIMEOUT_MS"
                ) from exc
            except psycopg.Error as exc:
                raise MigrationError(f"{path}: {exc}".strip()) from exc
            applied_now.append(version)
            log.info("applied migration %s", version)
    return applied_now


def create_logins(database_url: str) -> None:
    """The aws target's IAM logins (serving/sql/logins.sql), after the migrations that create their groups."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(LOGINS_SQL.read_text(encoding="utf-8"))


def url_from_rds_secret(secret: dict) -> str:
    """postgresql:// URL of an RDS-generated secret (username, password, host, port, dbname), TLS required."""
    try:
        user, password, host = (quote(str(secret[key]), safe="") for key in ("username", "password", "host"))
        port, database = int(secret.get("port", 5432)), secret.get("dbname", "postgres")
        return f"postgresql://{user}:{password}@{host}:{port}/{database}?sslmode=require"
    except KeyError as exc:
        raise MigrationError(f"the database secret has no {exc.args[0]!r}: expected an RDS secret") from exc


def owner_url(environ: Mapping[str, str]) -> str | None:
    if environ.get("MIGRATION_DATABASE_URL"):
        return environ["MIGRATION_DATABASE_URL"]
    if environ.get("MIGRATION_DATABASE_SECRET_ARN"):
        import boto3

        arn = environ["MIGRATION_DATABASE_SECRET_ARN"]
        try:
            session = boto3.session.Session(region_name=environ.get("AWS_REGION") or None)
            value = session.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:
            raise MigrationError(f"MIGRATION_DATABASE_SECRET_ARN={arn}: cannot read it ({exc})") from exc
        return url_from_rds_secret(json.loads(value))
    return environ.get("DATABASE_URL")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.migrate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL of the schema owner (default: $MIGRATION_DATABASE_URL, the secret of "
        "$MIGRATION_DATABASE_SECRET_ARN, else $DATABASE_URL locally); the storefront itself connects as a member "
        "of storefront_app, which may not change the schema",
    )
    parser.add_argument("--sql-dir", type=Path, default=DEFAULT_SQL_DIR, help="folder of NNNN_*.sql files")
    parser.add_argument("--logins", action="store_true", help="then make the aws target's IAM logins")
    args = parser.parse_args(argv)
    try:
        args.database_url = args.database_url or owner_url(os.environ)
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    if not args.database_url:
        parser.error("no database: pass --database-url or set DATABASE_URL (make services-up prints it)")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        versions = apply_migrations(args.database_url, args.sql_dir)
        if args.logins:
            create_logins(args.database_url)
    except (MigrationError, psycopg.Error) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    logins = "; logins storefront and bfp_extract ready" if args.logins else ""
    print(f"migrate: {len(versions)} applied ({', '.join(versions) or 'schema up to date'}){logins}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
