"""Prepares an Airflow home for the pipeline DAGs: the metadata database migrated and the one-writer pool.

    python -m pipeline.airflow_setup        (make airflow-init, make airflow, make demo and the tests run it)

Every task that writes or registers lake tables runs in the pool LAKE_WRITER_POOL of one slot, so manual runs,
backfills and lake_rebuild queue instead of writing at once. On MWAA create the same pool once (Admin > Pools,
or `airflow pools set bfp_lake_writer 1 '...' --include-deferred` through the MWAA CLI endpoint;
"include deferred" matters: the transform defers while its EMR job run writes the lake).
"""

from __future__ import annotations

import subprocess
import sys

from pipeline.wiring import LAKE_WRITER_POOL

POOL_DESCRIPTION = (
    "one task at a time reads or writes the working lake folders (extract, transform, DQ gate, registration,"
    " compaction)"
)


def airflow(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main() -> int:
    airflow("db", "migrate")
    # --include-deferred: a transform deferred on its EMR job run still holds the slot (the job writes the lake)
    airflow("pools", "set", LAKE_WRITER_POOL, "1", POOL_DESCRIPTION, "--include-deferred")
    return 0


if __name__ == "__main__":
    sys.exit(main())
