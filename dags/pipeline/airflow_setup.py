"""Prepares Airflow's metadata database for the pipeline DAGs on this machine: created on the local PostgreSQL
if missing, migrated, and the one-writer pool set.

    python -m pipeline.airflow_setup                 (make airflow-init, make airflow, make demo and the tests)
    python -m pipeline.airflow_setup --metadata-url  prints the metadata database URL scripts/airflow.sh uses

The metadata lives in PostgreSQL, as on MWAA, not in SQLite: under `airflow standalone` the scheduler, the
dag-processor, the API server, the tasks and a CLI backfill all write it at once, and SQLite answers a writer
that waits more than a few seconds with "database is locked" (a real-scheduler test failed that way). Its URL
is AIRFLOW__DATABASE__SQL_ALCHEMY_CONN when set, else the database `<name>_airflow` beside DATABASE_URL's.

Every task that writes or registers lake tables runs in the pool LAKE_WRITER_POOL of one slot, so manual runs,
backfills and lake_rebuild queue instead of writing at once. On MWAA create the same pool once (Admin > Pools,
or `airflow pools set bfp_lake_writer 1 '...' --include-deferred` through the MWAA CLI endpoint;
"include deferred" matters: the transform defers while its EMR job run writes the lake).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

METADATA_URL_SETTING = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
LOCAL_DATABASE_URL = "postgresql://bfp@127.0.0.1:55432/bfp"  # scripts/services.sh's default
POOL_DESCRIPTION = (
    "one task at a time reads or writes the working lake folders (extract, transform, DQ gate, registration,"
    " compaction)"
)


def metadata_url(environ: Mapping[str, str] = os.environ) -> str:
    """Airflow's metadata database: the explicit setting, else `<name>_airflow` on DATABASE_URL's server."""
    if environ.get(METADATA_URL_SETTING):
        return environ[METADATA_URL_SETTING]
    shop = make_url(environ.get("DATABASE_URL") or LOCAL_DATABASE_URL)
    url = shop.set(drivername="postgresql+psycopg2", database=f"{shop.database}_airflow")
    return url.render_as_string(hide_password=False)


def _server_conninfo(url: str) -> tuple[str, str]:
    """(libpq URL of the server's maintenance database, the metadata database's name)."""
    parsed = make_url(url)
    server = parsed.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False), parsed.database


def create_database(url: str) -> bool:
    """Creates the PostgreSQL database of `url` if it does not exist; True when it was created."""
    if make_url(url).get_backend_name() != "postgresql":
        return False  # SQLite (the in-process DAG tests): the file is created by the migration
    server, name = _server_conninfo(url)
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    """Drops the metadata database of a throwaway Airflow (the drills' and real-scheduler tests')."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    server, name = _server_conninfo(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def airflow(*args: str, env: Mapping[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, check=False, env=dict(env)
    )
    if done.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metadata-url", action="store_true", help="print the metadata database URL and exit")
    args = parser.parse_args(argv)
    url = metadata_url()
    if args.metadata_url:
        sys.stdout.write(url + "\n")  # read by scripts/airflow.sh
        return 0
    try:
        create_database(url)
    except psycopg.OperationalError as error:
        raise SystemExit(
            f"cannot reach PostgreSQL for Airflow's metadata ({make_url(url)!r}): {error}\n"
            "start the local services first (make services-up) or set AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
        ) from error
    env = {**os.environ, METADATA_URL_SETTING: url}
    airflow("db", "migrate", env=env)
    # imported here: pipeline.wiring imports Airflow (2-3 s of CPU), which --metadata-url, run by every
    # scripts/airflow.sh call, does not need
    from pipeline.wiring import LAKE_WRITER_POOL

    # --include-deferred: a transform deferred on its EMR job run still holds the slot (the job writes the lake)
    airflow("pools", "set", LAKE_WRITER_POOL, "1", POOL_DESCRIPTION, "--include-deferred", env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
