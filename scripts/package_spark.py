"""Zips spark/transforms, spark/jobs, seasons/ (the calendar) and contracts/ (the raw tables, lake folders and
purchases header) into the --py-files archive the jobs need (local and EMR alike).

Usage: python scripts/package_spark.py [OUT_ZIP]   (default .local/dist/bfp_spark.zip)
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (folder, package): the jobs and transforms, and the calendar and contracts they share with the pipeline
PACKAGES = ((ROOT / "spark", "transforms"), (ROOT / "spark", "jobs"), (ROOT, "seasons"), (ROOT, "contracts"))


def package(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, name in PACKAGES:
            for path in sorted((folder / name).rglob("*.py")):
                archive.write(path, path.relative_to(folder).as_posix())
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".local/dist/bfp_spark.zip")
    print(package(target))  # noqa: T201
