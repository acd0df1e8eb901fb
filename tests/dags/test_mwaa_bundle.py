"""`make mwaa-bundle` writes the tree MWAA syncs from S3, and the DAGs load from that tree alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mwaa_bundle import AIRFLOW_CONSTRAINTS_URL, bundle

# Run in a fresh interpreter whose only project path is the bundle, as on an MWAA worker (the dags folder is on
# sys.path, nothing else of the repository exists there).
LOAD_FROM_BUNDLE = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import list_py_file_paths
dags = Path(sys.argv[1])
bag = DagBag(dag_folder=str(dags))
from pipeline import settings
from pipeline.extract import raw_tables  # the tasks' schemas, from contracts/
from pipeline.gate import quality
from analytics import queries
s = settings.from_env({"BFP_TARGET": "local"})
print(json.dumps({
    "dag_ids": sorted(bag.dag_ids),
    "parsed": sorted(str(Path(path).relative_to(dags)) for path in list_py_file_paths(str(dags))),
    "errors": {k: v[-500:] for k, v in bag.import_errors.items()},
    "modules_outside": sorted(
        name for name, m in sys.modules.items()
        if name.split(".")[0] in ("pipeline", "analytics", "contracts", "seasons")
        and not str(getattr(m, "__file__", "") or "").startswith(str(dags))
    ),
    "expectations": str(s.expectations_dir), "athena_ddl": str(s.athena_ddl_dir),
    "queries": str(queries.QUERIES_DIR), "suites": len(list(s.expectations_dir.glob("*.json"))),
    "raw_tables": sorted(raw_tables.RAW_TABLES),
    "named_columns": {  # the suites' named columns and value lists, filled in from the bundle's contracts/ and sql/
        name: [len(v) for e in quality.load_suite(s.expectations_dir, name).expectations
               for k, v in e.configuration.kwargs.items() if k in ("column_set", "column_list", "value_set")]
        for name in ("curated_order_lines", "raw_orders")
    },
}))
"""


def test_the_dags_load_from_the_built_tree_alone_in_a_fresh_process(tmp_path):
    dags = bundle(tmp_path / "mwaa")
    assert not (dags / "requirements.txt").exists() and not (dags / "constraints").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "AIRFLOW__CORE__DAGS_FOLDER"))}
    env |= {"PYTHONPATH": str(dags), "AIRFLOW_HOME": str(tmp_path / "airflow-home")}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_FROM_BUNDLE, str(dags)],
        cwd=tmp_path,  # not the repository: nothing of it is importable but the bundle
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert loaded["dag_ids"] == ["bf_report", "lake_housekeeping", "lake_rebuild", "orders_pipeline"]
    assert loaded["modules_outside"] == []
    # the DAG processor imports the DAG files alone (dags/.airflowignore), not every module beside them
    assert loaded["parsed"] == [
        "bf_report_dag.py",
        "lake_housekeeping_dag.py",
        "lake_rebuild_dag.py",
        "orders_pipeline_dag.py",
    ]
    assert loaded["expectations"] == str(dags / "expectations") and loaded["suites"] >= 4
    assert loaded["athena_ddl"] == str(dags / "sql" / "athena")
    assert loaded["queries"] == str(dags / "sql" / "analytics")
    assert loaded["raw_tables"] == ["order_items", "orders"]  # made from the bundle's contracts/
    # the suites name columns and value lists, filled in from what the bundle ships (contracts/, sql/value_lists.json)
    assert loaded["named_columns"] == {
        "curated_order_lines": [23, 2, 5, 2, 52],  # columns, the compound key, statuses, sources, states
        "raw_orders": [16, 5, 52],  # columns, statuses, states
    }


def test_the_requirements_carry_the_constraints_line_and_only_the_tasks_imports(tmp_path):
    bundle(tmp_path / "mwaa")
    lines = (tmp_path / "mwaa" / "requirements.txt").read_text().splitlines()
    assert lines[0] == f"-c {AIRFLOW_CONSTRAINTS_URL}"
    names = {line.split("==")[0].lower() for line in lines if "==" in line and not line.startswith("#")}
    assert "great-expectations" in names and "duckdb" in names
    assert not names & {"pyspark", "flask", "gunicorn", "pytest", "matplotlib", "moto", "locust", "apache-airflow"}
