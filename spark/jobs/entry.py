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
    run: Callable[[SparkSession, argparse.Namespace], int],
    argv: list[str] | None,
) -> int:
    """Runs `run` with the parsed arguments on a session built for `app_name`; returns the exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spark = build_session(app_name, args.master)
    try:
        return run(spark, args)
    finally:
        spark.stop()
