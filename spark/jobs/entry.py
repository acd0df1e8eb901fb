"""The shared door of every job: parse arguments, configure logging, run on a session, stop it."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from pyspark.sql import SparkSession

from transforms.session import build_session


def run_main(
    app_name: str,
    parse_args: Callable[[list[str] | None], argparse.Namespace],
    run: Callable[[SparkSession, argparse.Namespace], dict],
    argv: list[str] | None,
) -> int:
    """Runs `run` with the parsed arguments on a session built for `app_name`; exit code 0 when the summary it
    returns says success, else 1."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spark = build_session(app_name, args.master)
    try:
        return 0 if run(spark, args)["status"] == "success" else 1
    finally:
        spark.stop()
