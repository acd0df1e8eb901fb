"""A full rebuild of a lake's curated order lines from its raw windows (every window, the compacted months
included), in a Spark session of its own; writes the rows' count and hash (drills.trust.rows_hash) as JSON to
OUT (a file, not stdout: Spark and the jobs log there). What `make drill-trust` compares the published lake with.

    python -m drills.rebuild_rows file:///abs/scratch-lake OUT.json   (the scratch lake holds a copy of raw/)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drills.trust import ROW_COLUMNS, rows_hash


def main(argv: list[str]) -> int:
    from jobs import build_order_lines, lake_io
    from transforms.session import build_session

    lake, out = argv
    spark = build_session("drill-trust-rebuild", master="local[2]")
    try:
        build_order_lines.build(spark, lake, all_windows=True)
        lines = lake_io.read_current_table(spark, f"{lake}/curated/order_lines")
        rows = [tuple(row) for row in lines.where("source = 'oltp'").selectExpr(*ROW_COLUMNS.split(", ")).collect()]
    finally:
        spark.stop()
    Path(out).write_text(json.dumps({"lines": len(rows), "hash": rows_hash(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
