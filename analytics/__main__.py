"""python -m analytics: the analysts' command line.

python -m analytics list                                  # the canonical queries
python -m analytics query black_friday_by_year            # run one (Athena SQL, translated for DuckDB)
python -m analytics query top_states --season 2024        # a query that takes a season (default: latest completed)
python -m analytics query --sql "SELECT year, count(*) FROM curated.order_lines GROUP BY 1"
python -m analytics query top_states --format csv --show-sql
python -m analytics report --out data/report              # the interactive Black Friday dashboard (one HTML file)
"""

from __future__ import annotations

import argparse
import csv
import sys

from rich.console import Console
from rich.table import Table
from rich_argparse import RichHelpFormatter

from analytics import queries


def season_year(text: str) -> int:
    """--season: a four-digit year (the value is bound into SQL as an integer)."""
    if not text.isdigit() or len(text) != 4:
        raise argparse.ArgumentTypeError(f"must be a year like 2025, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analytics", description=__doc__.splitlines()[0], formatter_class=RichHelpFormatter
    )
    parser.add_argument("--catalog", help="DuckDB catalog file (default $BFP_CATALOG_PATH or data/catalog.duckdb)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the canonical queries")
    query = commands.add_parser("query", help="run a canonical query or ad-hoc SQL")
    query.add_argument("name", nargs="?", help="canonical query name (see list)")
    query.add_argument("--sql", help="ad-hoc SQL instead of a canonical query")
    query.add_argument("--dialect", default=queries.SOURCE_DIALECT, help="dialect of the SQL (%(default)s)")
    query.add_argument("--format", choices=["table", "csv"], default="table")
    query.add_argument("--show-sql", action="store_true", help="also print the DuckDB SQL that ran")
    query.add_argument(
        "--season", type=season_year, help="for queries that take a season (default: the latest completed)"
    )
    report = commands.add_parser("report", help="render the Black Friday dashboard (self-contained HTML)")
    report.add_argument("--out", default="data/report", help="output folder (%(default)s)")
    return parser


def print_result(result: queries.Result, fmt: str, console: Console) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        return
    table = Table(*result.columns, caption=f"{len(result.rows)} rows")
    for row in result.rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console, errors = Console(width=160), Console(stderr=True)
    try:
        if args.command == "list":
            for name, path in queries.canonical_queries().items():
                console.print(f"[bold]{name}[/bold]  {queries.describe(path)}")
            return 0
        if args.command == "report":
            from analytics import dashboard

            path = dashboard.render(args.catalog, args.out)
            console.print(f"report: {path}")
            return 0
        if bool(args.name) == bool(args.sql):
            parser.error("give a canonical query name or --sql, not both")
        with queries.Analyst(args.catalog) as analyst:
            values = {"season": args.season} if args.season is not None else {}
            if args.sql:
                if values:
                    parser.error("--season applies to canonical queries only")
                result = analyst.run_sql(args.sql, args.dialect)
            else:
                result = analyst.run_canonical(args.name, **values)
        if args.show_sql:
            console.print(f"[dim]{result.sql}[/dim]")
        print_result(result, args.format, console)
        return 0
    except queries.QueryError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
