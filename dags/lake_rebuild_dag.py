"""DAG lake_rebuild: historical import / full rebuild. A purchases CSV (Open e-commerce schema) -> raw ->
curated order_lines (+ every complete OLTP window) -> all marts -> GX gate -> registration -> Asset event.
Manual trigger only. Wiring only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from pipeline.publish.publish_chain import publish_chain
from pipeline.transform.transform_operator import SparkRefreshOperator, plan_for_rebuild
from pipeline.wiring import DEFAULT_ARGS, LAKE_WRITER

DOC = """
### lake_rebuild

Manual. Imports a historical purchases file and rebuilds curated `order_lines` and every mart from it, and
(with `include_windows`) from every complete OLTP extract window, then validates, registers and publishes.

* **Trigger**: `airflow dags trigger lake_rebuild -c '{"purchases_csv": "/data/amazon-purchases.csv",
  "import_id": "open-ecommerce-2023"}'` (a path or URI Spark can read; `s3://…` on EMR).
* **Re-run**: same params; the import and the partitions it covers are replaced, the result is identical.
* **import_id** null: no historical import, the OLTP windows only (with `include_windows`).
* **as_of**: the date the season marts describe (default: the run's logical date, else when it was
  triggered); a season counts as complete once this date is past its last day.
* **full_repair**: registers every partition found in the lake (`MSCK REPAIR TABLE` on Athena) instead of
  only those written — for after a backfill or a hand-made change to the lake.
* Lines the import cannot type go to `quarantine/purchases/<import_id>/` with a reason; more than
  `max_bad_share` of them fails the run; the lines stay in staging and an earlier import under that id
  is unchanged.
"""

with DAG(
    dag_id="lake_rebuild",
    doc_md=DOC,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["import", "rebuild", "lake", "spark", "dq", "publish"],
    default_args=DEFAULT_ARGS,
    params={
        "purchases_csv": Param(None, type=["null", "string"], description="purchases CSV to import (path or URI)"),
        "import_id": Param(
            "demo",
            type=["null", "string"],
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
            description="purchases import to merge (null: none, the OLTP windows only)",
        ),
        "max_bad_share": Param(0.001, type="number", minimum=0, maximum=1, description="allowed quarantined share"),
        "include_windows": Param(True, type="boolean", description="also merge every complete OLTP window"),
        "full_repair": Param(False, type="boolean", description="register every partition in the lake"),
        "as_of": Param(
            None, type=["null", "string"], format="date", description="season marts as of this date (default: run date)"
        ),
    },
) as dag:
    transform = SparkRefreshOperator(task_id="transform", plan=plan_for_rebuild, retries=1, **LAKE_WRITER)

    publish_chain(transform.output)
