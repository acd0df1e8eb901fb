"""Command line of the data generator: `python -m datagen {generate,load,figures} --help`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

import duckdb

from datagen import figures, purchases, purchases_file
from datagen.load import LoadError, load_catalog
from datagen.simulate import SimulationError, Simulator

DEFAULT_DATA_DIR = Path(os.environ.get("BFP_DATA_DIR", "data"))


def default_purchases_path(scale: str) -> Path:
    return DEFAULT_DATA_DIR / scale / "amazon-purchases.csv"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m datagen",
        description="Synthetic Open e-commerce 1.0 purchases and the storefront catalog derived from them.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate",
        parents=[common],
        help="write the purchases CSV (amazon-purchases.csv schema)",
        description="Write the historical purchases CSV; the same seed and scale give the same bytes.",
    )
    generate.add_argument(
        "--scale",
        choices=sorted(purchases.SCALES),
        default="demo",
        help="demo: 90K lines, 44K products (default); full: 1.8M lines, 873K products, 5K shoppers",
    )
    generate.add_argument("--seed", type=int, default=purchases.DEFAULT_SEED, help="random seed (%(default)s)")
    first, last = purchases.default_days(today())
    generate.add_argument(
        "--first-day",
        type=iso_date,
        default=first,
        help="first order date (default %(default)s: five complete seasons before today; the real file: 2018-01-01)",
    )
    generate.add_argument(
        "--last-day",
        type=iso_date,
        default=last,
        help="last order date (default %(default)s: yesterday; the real file: 2022-12-31)",
    )
    generate.add_argument(
        "--out", type=Path, help="output CSV (default: $BFP_DATA_DIR/<scale>/amazon-purchases.csv, data/ if unset)"
    )

    load = commands.add_parser(
        "load",
        parents=[common],
        help="derive categories, products and customers from a purchases CSV and load them into Postgres",
        description="Check a purchases CSV (generated or the real one), derive the catalog and load it with "
        "COPY in one transaction. Bad lines go to quarantine with their reason.",
    )
    load.add_argument("--purchases", type=Path, required=True, help="the purchases CSV")
    load.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="PostgreSQL URL (default: $DATABASE_URL)"
    )
    load.add_argument(
        "--quarantine-dir",
        type=Path,
        default=DEFAULT_DATA_DIR / "lake" / "quarantine",
        help="where rejected lines are written (default: %(default)s)",
    )
    load.add_argument(
        "--max-bad-lines",
        type=int,
        default=0,
        help="load anyway if at most this many lines are bad (they are quarantined); default 0",
    )

    simulate = commands.add_parser(
        "simulate",
        parents=[common],
        help="make order activity in the OLTP database (new orders, status changes, bursts, late commits)",
        description="Order activity for the extract pipeline: needs a loaded catalog.",
    )
    simulate.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="PostgreSQL URL (default: $DATABASE_URL)"
    )
    simulate.add_argument("--orders", type=int, default=200, help="new orders, one transaction each (%(default)s)")
    simulate.add_argument("--advance", type=int, default=100, help="orders moved one status step (%(default)s)")
    simulate.add_argument("--bursts", type=int, default=2, help="bursts of orders in one transaction (%(default)s)")
    simulate.add_argument("--burst-size", type=int, default=25, help="orders per burst (%(default)s)")
    simulate.add_argument(
        "--hold-open-seconds",
        type=float,
        default=0.0,
        help="also insert one order in a transaction held open this long before committing (a late commit)",
    )
    simulate.add_argument("--bulk", type=int, default=0, help="also insert this many one-line orders set-based")
    simulate.add_argument("--seed", type=int, default=1, help="random seed (%(default)s)")

    measure = commands.add_parser(
        "figures",
        parents=[common],
        help="print the Black Friday figures measured on a purchases CSV",
        description="Per complete season: the peak week's surge in daily orders vs the rest of November and its "
        "share of November revenue, the seed week's share, the peak day (periods: seasons/calendar.py).",
    )
    measure.add_argument("--purchases", type=Path, required=True, help="the purchases CSV")
    measure.add_argument(
        "--as-of", type=iso_date, default=today(), help="figures of the seasons complete on this date (default: today)"
    )
    return parser


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def run_generate(args: argparse.Namespace) -> int:
    scale = purchases.SCALES[args.scale]
    out = args.out or default_purchases_path(args.scale)
    started = time.perf_counter()
    days = (args.first_day, args.last_day)
    table = purchases.generate_purchases(scale, args.seed, progress=not args.quiet, days=days)
    generated = time.perf_counter()
    purchases.write_purchases_csv(table, out, progress=not args.quiet)
    written = time.perf_counter()
    print(
        f"generated {table.num_rows:,} purchase lines ({scale.products:,} products, {scale.customers:,} "
        f"shoppers, seed {args.seed}, {days[0]} .. {days[1]}) -> {out}\n"
        f"  generate {generated - started:.1f}s ({table.num_rows / (generated - started):,.0f} rows/s), "
        f"write {written - generated:.1f}s ({table.num_rows / (written - generated):,.0f} rows/s)"
    )
    return 0


def run_load(args: argparse.Namespace) -> int:
    if not args.database_url:
        raise LoadError("no database: pass --database-url or set DATABASE_URL (make services-up prints it)")
    if args.max_bad_lines < 0:
        raise LoadError(f"--max-bad-lines must be 0 or more, got {args.max_bad_lines}")
    result = load_catalog(args.purchases, args.database_url, args.quarantine_dir, args.max_bad_lines)
    checked = result.checked
    print(
        f"checked {checked.lines_read:,} lines of {args.purchases}: {checked.lines_valid:,} valid, "
        f"{checked.problems:,} quarantined" + (f" -> {checked.quarantine_file}" if checked.quarantine_file else "")
    )
    print("derived " + ", ".join(f"{count:,} {name}" for name, count in result.derived.items()))
    print("database now holds " + ", ".join(f"{count:,} {name}" for name, count in result.totals.items()))
    print("  " + ", ".join(f"{stage} {secs:.1f}s" for stage, secs in result.seconds.items()))
    return 0


def run_figures(args: argparse.Namespace) -> int:
    con = duckdb.connect()
    purchases_file.check_purchases(con, args.purchases, DEFAULT_DATA_DIR / "lake" / "quarantine", max_bad_lines=0)
    print(figures.format_figures(figures.seasonality_figures(con, args.as_of)))
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    if not args.database_url:
        raise LoadError("no database: pass --database-url or set DATABASE_URL (make services-up prints it)")
    for name in ("orders", "advance", "bursts", "burst_size", "bulk"):
        if getattr(args, name) < 0:
            raise LoadError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(args, name)}")
    simulator = Simulator(args.database_url, seed=args.seed)
    placed = simulator.place_orders(args.orders)
    for _ in range(args.bursts):
        placed += simulator.burst(args.burst_size)
    advanced = simulator.advance([p.id for p in placed[: args.advance]]) if args.advance and placed else []
    if args.hold_open_seconds > 0:
        with simulator.open_transaction() as (_conn, late):
            time.sleep(args.hold_open_seconds)  # a slow client: the point of this option
        print(f"late commit: order {late.id} stamped {late.updated_at}, committed {args.hold_open_seconds}s later")
    bulk = simulator.bulk(args.bulk) if args.bulk else 0
    print(
        f"placed {len(placed):,} orders ({args.bursts} burst(s) of {args.burst_size}), advanced {len(advanced):,}"
        + (f", bulk-inserted {bulk:,} one-line orders" if bulk else "")
    )
    return 0


COMMANDS = {"generate": run_generate, "load": run_load, "figures": run_figures, "simulate": run_simulate}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (purchases.GenerateError, purchases_file.PurchasesFileError, LoadError, SimulationError) as exc:
        print(f"datagen {args.command}: error: {exc}", file=sys.stderr)
        return 1
