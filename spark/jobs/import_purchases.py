"""Historical import: a purchases CSV (Open e-commerce 1.0 schema, real or generated) -> typed Parquet in
raw/purchases/import=<id>/, bad lines -> quarantine/purchases/<id>/ with their reason.

    spark-submit spark/jobs/import_purchases.py --input data/demo/amazon-purchases.csv \
        --lake file:///abs/data/lake --import-id demo [--max-bad-share 0.001]

The lines are written to raw/purchases/_staging/ first and moved into place when the share of quarantined
lines is within --max-bad-share; otherwise the job fails (exit 1) and an earlier import under that id stays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import re
import sys
import time

from pyspark.sql import Observation
from pyspark.sql import functions as F

from jobs import entry, lake_io
from transforms import purchases

log = logging.getLogger("jobs.import_purchases")
CSV_BYTES_PER_FILE = 128 * 2**20
MAX_BAD_SHARE = 0.001  # the share of lines that may be quarantined before the import fails
IMPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Raw files are written once and kept, so they are written small (docs/benchmarks.md, bench-transform):
# zstd level 9 (default 3), and Parquet v2 pages without dictionaries for titles and ASINs, which have nearly as
# many distinct values as lines (a dictionary overflows and falls back anyway); v2 front-codes them instead
# (DELTA_BYTE_ARRAY: sorted titles share their beginnings). Smaller and faster than v1 with dictionaries.
RAW_PARQUET_OPTIONS = {
    "parquet.compression.codec.zstd.level": "9",
    "parquet.writer.version": "v2",
    "parquet.enable.dictionary#title": "false",
    "parquet.enable.dictionary#asin": "false",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="import_purchases", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="purchases CSV path or URI")
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument("--import-id", required=True, help="names the import partition, e.g. 2023-open-ecommerce")
    parser.add_argument(
        "--max-bad-share", type=float, default=MAX_BAD_SHARE, help="allowed quarantined share (%(default)s)"
    )
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    try:
        check_arguments(args.import_id, args.max_bad_share)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def check_arguments(import_id: str, max_bad_share: float) -> None:
    """Raises ValueError naming the argument that is wrong."""
    if not IMPORT_ID.fullmatch(import_id):
        raise ValueError(f"--import-id {import_id!r}: use letters, digits, '.', '_' or '-'")
    if not 0 <= max_bad_share <= 1:
        raise ValueError(f"--max-bad-share must be between 0 and 1, got {max_bad_share}")


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("import_purchases", parse_args, run, argv)


def run(spark, args: argparse.Namespace) -> dict:
    """The job's entry on an existing session (parsed arguments, see parse_args)."""
    return import_file(spark, args.input, args.lake, args.import_id, args.max_bad_share)


def import_file(spark, source: str, lake: str, import_id: str, max_bad_share: float = MAX_BAD_SHARE) -> dict:
    """Imports the purchases CSV at `source` into the lake as import `import_id`; returns its summary (status
    success or failed: more than `max_bad_share` of the lines quarantined)."""
    check_arguments(import_id, max_bad_share)
    started = time.perf_counter()
    lake = lake.rstrip("/")
    target = f"{lake}/raw/purchases/import={import_id}"
    staging = f"{lake}/raw/purchases/_staging/import={import_id}"
    quarantine = f"{lake}/quarantine/purchases/{import_id}"

    # One pass over the file: the valid lines are written to staging while the line counts are observed; the
    # file is read again only when there are bad lines to quarantine. (Caching the parsed file for the counts
    # cost more than parsing it twice, measured at full scale.)
    typed = purchases.type_purchases(purchases.read_purchases_text(spark, source))
    counts = Observation("import_purchases")
    observed = typed.observe(counts, F.count(F.lit(1)).alias("lines"), F.count("reason").alias("bad"))
    lake_io.delete(spark, staging)
    raw_rows = purchases.raw_layout(purchases.valid_purchases(observed), output_files(spark, source))
    raw_rows.write.options(**RAW_PARQUET_OPTIONS).parquet(staging)
    observed_counts = counts.get
    lines_in, bad_lines = observed_counts["lines"], observed_counts["bad"]

    lake_io.delete(spark, quarantine)
    if bad_lines:
        purchases.quarantined_purchases(typed).coalesce(1).write.mode("overwrite").parquet(quarantine)
    summary = {
        "event": "import_purchases",
        "input": source,
        "import_id": import_id,
        "rows_in": lines_in,
        "rows_quarantined": bad_lines,
        "quarantine": quarantine if bad_lines else None,
    }
    share = bad_lines / lines_in if lines_in else 1.0
    if not lines_in or share > max_bad_share:
        lake_io.delete(spark, staging)  # an earlier import under this id stays as it was
        summary |= {
            "status": "failed",
            "next_step": f"read {quarantine} (reason column), fix the file or raise "
            f"--max-bad-share (now {max_bad_share}, got {share:.4%})",
        }
        log.error(json.dumps(summary))
        return summary

    lake_io.delete(spark, target)
    lake_io.rename(spark, staging, target)
    rows_out = lines_in - bad_lines
    summary |= {
        "status": "success",
        "rows_out": rows_out,
        "path": target,
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    lake_io.write_json(
        spark,
        f"{target}/{lake_io.MANIFEST}",
        {**summary, "written_at": dt.datetime.now(dt.UTC).isoformat(), "columns": list(purchases.RAW_COLUMNS)},
    )
    log.info(json.dumps(summary))
    return summary


def output_files(spark, input_uri: str) -> int:
    """One raw file per 128 MiB of CSV: whole files per product need a fixed count."""
    return max(1, math.ceil(lake_io.size_bytes(spark, input_uri) / CSV_BYTES_PER_FILE))


if __name__ == "__main__":
    sys.exit(main())
