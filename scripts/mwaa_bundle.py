"""Builds the MWAA upload as MWAA loads it: a `dags/` tree to sync to the environment's S3 dags folder (MWAA
copies it to /usr/local/airflow/dags on every worker and puts that folder on sys.path) and the environment's
`requirements.txt`.

    OUT/dags/               the DAG files and their `pipeline` package, plus the contract files the tasks read
                            at run time (contracts/ and the seasons/ calendar they use, expectations/ and the
                            sql/value_lists.json they name, sql/athena/) and the dashboard bf_report renders
                            (analytics/, sql/analytics/), where pipeline.settings and analytics.queries look
    OUT/requirements.txt    dags/requirements.txt with the `-c` line MWAA installs it with
    OUT/startup.sh          scripts/mwaa_startup.sh: the environment's `bfp.*` options as the BFP_* settings

`cdk deploy` uploads all three (infra/bfp_infra/pipeline.py); MWAA is pinned to the versions it wrote.

Usage: python scripts/mwaa_bundle.py [OUT_DIR]   (default .local/dist/mwaa)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Airflow's constraints for MWAA's Airflow and Python: the file dags/constraints/airflow_constraints.txt copies.
AIRFLOW_CONSTRAINTS_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"
# what of dags/ is not DAG code: the dependency set and MWAA's constraints go to requirements.txt instead
NOT_UPLOADED = ("requirements.txt", "constraints", "__pycache__", "README.md")
# the contract files tasks read, and the dashboard the bf_report DAG renders: repository folder -> pattern
CONTRACT = {
    "contracts": "*.py",
    "seasons": "*.py",  # the calendar: contracts/lake_tables.py names curated's flag columns after its periods
    "expectations": "*.json",
    "sql": "value_lists.json",
    "sql/athena": "*.sql",
    "sql/analytics": "*.sql",
    "analytics": "**/*",
}


def bundle(out_dir: Path) -> Path:
    """Writes OUT/dags, OUT/requirements.txt and OUT/startup.sh (replacing an earlier build); returns OUT/dags."""
    dags = out_dir / "dags"
    if dags.exists():
        shutil.rmtree(dags)
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns(*NOT_UPLOADED))
    for folder, pattern in CONTRACT.items():
        for path in sorted((ROOT / folder).glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                target = dags / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    (out_dir / "requirements.txt").write_text(mwaa_requirements())
    shutil.copy2(ROOT / "scripts" / "mwaa_startup.sh", out_dir / "startup.sh")
    return dags


def mwaa_requirements() -> str:
    """dags/requirements.txt with its `-c` line first: MWAA then uses this constraints file instead of adding its
    own (the same file), and always applies its essential constraints on top."""
    return f"-c {AIRFLOW_CONSTRAINTS_URL}\n" + (ROOT / "dags" / "requirements.txt").read_text()


if __name__ == "__main__":
    print(bundle(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".local" / "dist" / "mwaa"))  # noqa: T201
