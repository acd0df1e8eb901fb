"""What the stacks read from the rest of the repository, so nothing is declared twice: the lake's table
contract (sql/athena/, through the pipeline's own parser), the pipeline's pool and metric names, the
storefront's Kubernetes manifests, the Spark version the jobs are pinned to, and the built bundles."""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import yaml
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / ".local" / "dist"
MWAA_BUNDLE = DIST / "mwaa"  # scripts/mwaa_bundle.py: dags/, requirements.txt, startup.sh
SPARK_PACKAGE = DIST / "bfp_spark.zip"  # scripts/package_spark.py
SPARK_ENTRY = ROOT / "spark" / "jobs" / "refresh.py"
STOREFRONT_MANIFEST = ROOT / "docker" / "k8s" / "storefront.yaml"
# EMR Serverless releases by the Spark minor version they run: the jobs run on the release whose Spark is the
# one spark/requirements.txt pins (tests/test_requirements.py keeps the local pyspark at that pin)
EMR_RELEASES = {"4.0": "emr-spark-8.0-preview"}


class ContractError(ValueError):
    """Something the stacks read from the repository is missing or changed shape; the message says what."""


def _dags_path() -> None:
    dags = str(ROOT / "dags")
    if dags not in sys.path:
        sys.path.insert(0, dags)


@cache
def tables() -> dict:
    """The lake's tables as the pipeline registers them (pipeline.publish.table_registry over sql/athena/)."""
    _dags_path()
    from pipeline.publish import table_registry

    return table_registry.load_table_defs(ROOT / "sql" / "athena")


def glue_type(athena_type: str) -> str:
    """A column type as Glue stores it (Hive spelling: int, decimal(12,2)), whatever the DDL wrote."""
    return exp.DataType.build(athena_type, dialect="athena").sql(dialect="hive").lower().replace(" ", "")


def _constant(module: Path, name: str) -> str:
    """A module-level string constant read without importing the module (the DAG modules import Airflow)."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise ContractError(f"{module.relative_to(ROOT)} no longer defines {name}")


def lake_writer_pool() -> tuple[str, str]:
    """(name, description) of the one-slot pool every lake-writing task runs in."""
    pipeline = ROOT / "dags" / "pipeline"
    return _constant(pipeline / "wiring.py", "LAKE_WRITER_POOL"), _constant(
        pipeline / "airflow_setup.py", "POOL_DESCRIPTION"
    )


def pipeline_metric_namespace() -> str:
    return _constant(ROOT / "dags" / "pipeline" / "metrics.py", "METRIC_NAMESPACE")


def storefront_manifests() -> list[dict]:
    return [doc for doc in yaml.safe_load_all(STOREFRONT_MANIFEST.read_text()) if doc]


def manifest(kind: str, documents: list[dict] | None = None) -> dict:
    found = [doc for doc in documents or storefront_manifests() if doc["kind"] == kind]
    if len(found) != 1:
        raise ContractError(f"{STOREFRONT_MANIFEST.relative_to(ROOT)}: expected one {kind}, found {len(found)}")
    return found[0]


def load_balancer_cidrs() -> list[str]:
    """The subnets the NetworkPolicy lets reach the shop's port: the network's public subnets must be these."""
    rules = manifest("NetworkPolicy")["spec"]["ingress"]
    cidrs = [peer["ipBlock"]["cidr"] for rule in rules for peer in rule.get("from", []) if "ipBlock" in peer]
    if not cidrs:
        raise ContractError("the storefront NetworkPolicy names no ipBlock for the load balancer's subnets")
    return cidrs


def emr_release() -> str:
    """The EMR Serverless release running the Spark that spark/requirements.txt pins."""
    for line in (ROOT / "spark" / "requirements.txt").read_text().splitlines():
        if line.startswith("pyspark=="):
            minor = ".".join(line.split("==", 1)[1].split(".")[:2])
            if minor not in EMR_RELEASES:
                raise ContractError(f"no EMR Serverless release known for Spark {minor}: add it to EMR_RELEASES")
            return EMR_RELEASES[minor]
    raise ContractError("spark/requirements.txt pins no pyspark")


def bundle_files() -> dict[str, Path]:
    """The built uploads, checked before synthesis stages them as assets."""
    files = {
        "dags": MWAA_BUNDLE / "dags",
        "requirements": MWAA_BUNDLE / "requirements.txt",
        "startup": MWAA_BUNDLE / "startup.sh",
        "spark_package": SPARK_PACKAGE,
        "spark_entry": SPARK_ENTRY,
    }
    missing = [str(path.relative_to(ROOT)) for path in files.values() if not path.exists()]
    if missing:
        raise ContractError(f"not built: {', '.join(missing)}; run `make mwaa-bundle spark-package` first")
    return files


def airflow_version() -> str:
    """The Airflow MWAA runs: the one its essential constraints pin (dags/constraints/)."""
    constraints = ROOT / "dags" / "constraints" / "mwaa_essential_constraints.txt"
    for line in constraints.read_text().splitlines():
        if line.startswith("apache-airflow=="):
            return line.split("==", 1)[1].strip()
    raise ContractError(f"{constraints.relative_to(ROOT)} pins no apache-airflow")


def emr_upload_dir() -> Path:
    """The EMR code as the transform finds it under BFP_SPARK_CODE_URI: bfp_spark.zip and jobs/refresh.py."""
    files = bundle_files()
    staged = DIST / "emr"
    (staged / "jobs").mkdir(parents=True, exist_ok=True)
    for source, target in (
        (files["spark_package"], staged / "bfp_spark.zip"),
        (files["spark_entry"], staged / "jobs" / "refresh.py"),
    ):
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.write_bytes(source.read_bytes())
    return staged


def image_context() -> Path:
    """The storefront image's build context: exactly what docker/storefront.Dockerfile copies (serving/,
    sql/oltp/), staged so that the asset's hash and upload cover nothing else of the repository."""
    import shutil

    staged = DIST / "storefront-image"
    if staged.exists():
        shutil.rmtree(staged)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("serving", "sql/oltp"):
        shutil.copytree(ROOT / folder, staged / folder, ignore=ignore)
    (staged / "docker").mkdir()
    shutil.copy2(ROOT / "docker" / "storefront.Dockerfile", staged / "docker" / "storefront.Dockerfile")
    return staged
