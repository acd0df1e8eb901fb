"""One Spark application for a pipeline run: [historical import] -> curated order_lines -> marts of the months the
merge touched, on one session (one JVM start instead of three). Every table is written as new partition
versions (lake_io.VersionedTable) that become current together when the job ends. The DAGs submit this job;
the three single-step jobs stay for hand runs. Writes its summary (what each step wrote, partition by partition,
and where each new version is) to --summary-uri so the DAG can validate and register exactly those versions.

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
    parser.add_argument(
        "--stamp", help="the version folder this attempt writes (<UTC time>_<run id>; default: made now)"
    )
    parser.add_argument("--purchases-csv", help="import this purchases CSV first (needs --import-id)")
    parser.add_argument("--import-id", help="the purchases import to merge (raw/purchases/import=<id>)")
    parser.add_argument("--max-bad-share", type=float, default=0.001, help="allowed quarantined share (%(default)s)")
    windows = parser.add_mutually_exclusive_group()
    windows.add_argument(
        "--windows", type=build_order_lines.window_labels, help="comma-separated OLTP window labels to merge"
    )
    windows.add_argument("--all-windows", action="store_true", help="merge every complete OLTP window (rebuild)")
    build_marts.add_as_of_argument(parser)
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    if args.purchases_csv and not args.import_id:
        parser.error("--purchases-csv needs --import-id")
    if not (args.import_id or args.windows or args.all_windows):
        parser.error("give --import-id (with or without --purchases-csv), --windows or --all-windows")
    if args.import_id and args.windows:
        parser.error("--windows merges OLTP windows alone; import purchases with --import-id [--all-windows]")
    return args


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("refresh", parse_args, run, argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    tables = lake_io.JobTables(spark, args.lake, args.stamp or lake_io.new_stamp(args.run_id))
    summary: dict = {"event": "refresh", "run_id": args.run_id, "lake": args.lake, "status": "failed"}
    summary["stamp"] = tables.stamp
    try:
        if args.purchases_csv:
            imported = import_purchases.import_file(
                spark, args.purchases_csv, args.lake, args.import_id, args.max_bad_share
            )
            summary["import_purchases"] = imported
            if imported["status"] != "success":
                summary["next_step"] = imported["next_step"]
                return summary
        lines = build_order_lines.build(spark, args.lake, args.import_id, args.windows, args.all_windows, tables)
        summary["order_lines"] = lines
        months = touched_months(lines["partitions"] + lines["partitions_removed"])
        if months:
            # A rebuild from every window rebuilds every month; a merge, only the months it touched.
            all_months = None if args.all_windows else months
            summary["marts"] = build_marts.build(spark, args.lake, all_months, args.as_of, tables)
        # Everything this job wrote becomes current at once, at its end (the orders' state last): a job killed
        # before here changed nothing the next one builds on; one killed while switching is redone by its re-run.
        tables.switch()
        summary["status"] = "success"
        return summary
    except Exception as exc:
        summary["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        lake_io.write_json(spark, args.summary_uri, summary)


def touched_months(specs: list[str]) -> list[tuple[int, int]]:
    """["year=2026/month=11", ...] -> [(2026, 11), ...], sorted and distinct."""
    months = set()
    for spec in specs:
        values = dict(pair.split("=", 1) for pair in spec.split("/"))
        months.add((int(values["year"]), int(values["month"])))
    return sorted(months)


if __name__ == "__main__":
    sys.exit(main())
