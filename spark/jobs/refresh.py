"""One Spark application for a pipeline run: [historical import] -> curated order_lines -> marts of the years the
merge touched, on one session (one JVM start instead of three). The DAGs submit this job; the three single-step
jobs stay for hand runs. Writes its summary (what each step wrote, partition by partition) to --summary-uri so
the DAG can validate and register exactly those partitions.

    spark-submit spark/jobs/refresh.py --lake file:///abs/data/lake --windows 20261124T1800 \
        --summary-uri file:///abs/data/lake/_runs/refresh/<run>.json --as-of 2026-11-24
    spark-submit spark/jobs/refresh.py --lake ... --purchases-csv data/demo/amazon-purchases.csv --import-id demo \
        --summary-uri ...
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession

from jobs import build_marts, build_order_lines, entry, import_purchases, lake_io


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="refresh", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument("--summary-uri", required=True, help="where to write the run summary (JSON)")
    parser.add_argument("--run-id", help="the pipeline run (Airflow's run id) the summary belongs to")
    parser.add_argument("--purchases-csv", help="import this purchases CSV first (needs --import-id)")
    parser.add_argument("--import-id", help="the purchases import to merge (raw/purchases/import=<id>)")
    parser.add_argument("--max-bad-share", type=float, default=0.001, help="allowed quarantined share (%(default)s)")
    windows = parser.add_mutually_exclusive_group()
    windows.add_argument("--windows", help="comma-separated OLTP window labels to merge")
    windows.add_argument("--all-windows", action="store_true", help="merge every complete OLTP window (rebuild)")
    build_marts.add_as_of_argument(parser)
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    if args.purchases_csv and not args.import_id:
        parser.error("--purchases-csv needs --import-id")
    if not (args.import_id or args.windows or args.all_windows):
        parser.error("give --import-id (with or without --purchases-csv), --windows or --all-windows")
    return args


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("refresh", parse_args, run, argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    summary: dict = {"event": "refresh", "run_id": args.run_id, "lake": args.lake, "status": "failed"}
    try:
        if args.purchases_csv:
            imported = import_purchases.run(
                spark,
                import_purchases.parse_args(
                    [
                        *("--input", args.purchases_csv, "--lake", args.lake, "--import-id", args.import_id),
                        *("--max-bad-share", str(args.max_bad_share)),
                    ]
                ),
            )
            summary["import_purchases"] = imported
            if imported["status"] != "success":
                summary["next_step"] = imported["next_step"]
                return summary
        lines_args = ["--lake", args.lake]
        lines_args += ["--purchases-import", args.import_id] if args.import_id else []
        lines_args += ["--windows", args.windows] if args.windows else []
        lines_args += ["--all-windows"] if args.all_windows else []
        lines = build_order_lines.run(spark, build_order_lines.parse_args(lines_args))
        summary["order_lines"] = lines
        years = sorted(
            {part.split("/")[0].removeprefix("year=") for part in lines["partitions"] + lines["partitions_removed"]}
        )
        if years:
            summary["marts"] = build_marts.run(
                spark,
                build_marts.parse_args(
                    ["--lake", args.lake, "--years", ",".join(years), "--as-of", args.as_of.isoformat()]
                ),
            )
        summary["status"] = "success"
        return summary
    except Exception as exc:
        summary["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        lake_io.write_json(spark, args.summary_uri, summary)


if __name__ == "__main__":
    sys.exit(main())
