"""Renders the Athena DDL of the tables declared in contracts/lake_tables.py into sql/athena/ (today
curated.order_lines); tests/spark/test_contract.py fails when a file is not what this renders.

Usage: python scripts/render_ddl.py   (after changing contracts/lake_tables.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts import lake_tables  # noqa: E402  (the repository root, whichever folder this runs from)
from contracts.lake_paths import CURATED_ORDER_LINES  # noqa: E402

HEADER = """\
-- Rendered from contracts/lake_tables.py by scripts/render_ddl.py: change the contract, then run it.
-- One row per purchased line, historical purchases and OLTP orders unified (spark/transforms/order_lines.py).
-- Partitioned by month and, within it, by order-id bucket (-1: historical purchases): a run rewrites the buckets its
-- orders are in, not the month. Partitions are added by the pipeline's register task (ADD IF NOT EXISTS / SET
-- LOCATION).
"""
FILES = {lake_tables.CURATED_ORDER_LINES_TABLE: ("curated_order_lines.sql", CURATED_ORDER_LINES, HEADER)}


def render(table: str) -> str:
    _, lake_path, header = FILES[table]
    columns, partitions = lake_tables.TABLES[table]
    column_lines = ",\n".join(f"  {name} {kind}" for name, kind in columns)
    partition_list = ", ".join(f"{name} {kind}" for name, kind in partitions)
    return (
        f"{header}CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{column_lines}\n)\n"
        f"PARTITIONED BY ({partition_list})\nSTORED AS PARQUET\nLOCATION '${{lake_uri}}/{lake_path}/'\n"
        "TBLPROPERTIES ('parquet.compression' = 'ZSTD');\n"
    )


def path_of(table: str) -> Path:
    return ROOT / "sql" / "athena" / FILES[table][0]


def main() -> int:
    for table in FILES:
        path_of(table).write_text(render(table))
        print(f"rendered {path_of(table).relative_to(ROOT)}")  # noqa: T201  (a command's report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
