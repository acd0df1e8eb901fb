"""The spark-submit entry of `make bench-hourly`: runs the refresh job on a session (as orders_pipeline submits
refresh.py) or the floor (read one window's raw files, write one Parquet file), then writes the Hadoop file
system calls the application made, and the bytes it read, to a JSON file.

    spark-submit ... bench/hourly_job.py CALLS_OUT refresh <refresh.py arguments>
    spark-submit ... bench/hourly_job.py CALLS_OUT floor LAKE_URI WINDOW_LABEL OUT_URI
    spark-submit ... bench/hourly_job.py CALLS_OUT marts <build_marts.py arguments>   (preparing a lake, untimed)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # support/, beside the --py-files archive
from support import hadoop_fs_calls


def main(argv: list[str]) -> int:
    from transforms.session import build_session

    calls_out, mode, rest = argv[0], argv[1], argv[2:]
    spark = build_session(f"bench-hourly-{mode}")
    hadoop_fs_calls.reset(spark)  # the application's own calls, not the session's start-up
    if mode == "refresh":
        from jobs import refresh

        summary = refresh.run(spark, refresh.parse_args(rest))
    elif mode == "marts":
        from jobs import build_marts

        summary = build_marts.run(spark, build_marts.parse_args(rest))
    else:
        lake, label, out = rest
        frames = [spark.read.parquet(f"{lake}/raw/{table}/window={label}") for table in ("orders", "order_items")]
        frames[0].unionByName(frames[1], allowMissingColumns=True).coalesce(1).write.mode("overwrite").parquet(out)
        summary = {"status": "success"}
    Path(calls_out).write_text(json.dumps({"calls": hadoop_fs_calls.calls(spark), "summary": summary}, default=str))
    spark.stop()
    return 0 if summary["status"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
