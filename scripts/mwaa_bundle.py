"""Builds the MWAA upload: dags.zip holding dags/ plus the contract files the tasks read at run time
(expectations/*.json -> dags/expectations/, sql/athena/*.sql -> dags/sql/athena/), the dashboard package
(analytics/ and sql/analytics/) the bf_report DAG renders, and requirements.txt.
pipeline.settings finds the bundled copies first (MWAA deploys only what is in the dags folder).

Usage: python scripts/mwaa_bundle.py [OUT_DIR]   (default .local/dist/mwaa)
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the contract files tasks read, and the dashboard the bf_report DAG renders (analytics/ + its queries)
CONTRACT = {"expectations": "*.json", "sql/athena": "*.sql", "sql/analytics": "*.sql", "analytics": "*.py"}


def bundle(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    archive_path = out_dir / "dags.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((ROOT / "dags").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT / "dags").as_posix())
        for folder, pattern in CONTRACT.items():
            for path in sorted((ROOT / folder).glob(pattern)):
                archive.write(path, f"{folder}/{path.name}")
    (out_dir / "requirements.txt").write_text("\n".join(flattened(ROOT / "requirements.txt")) + "\n")
    return archive_path


def flattened(requirements: Path) -> list[str]:
    """The file's lines with every `-r other.txt` replaced by that file's lines: MWAA gets one file."""
    lines = []
    for line in requirements.read_text().splitlines():
        if line.startswith("-r "):
            lines += flattened(requirements.parent / line.split(maxsplit=1)[1])
        else:
            lines.append(line)
    return lines


if __name__ == "__main__":
    print(bundle(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".local" / "dist" / "mwaa"))  # noqa: T201
