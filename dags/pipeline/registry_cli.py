"""The analysts' catalog by hand, for on-call and backfills (the DAGs register partitions themselves).

python -m pipeline.registry_cli init                       # create every table (empty until registered)
python -m pipeline.registry_cli list [--table marts.daily_sales]
python -m pipeline.registry_cli repair                     # publish every partition in the lake (MSCK REPAIR)
python -m pipeline.registry_cli register --table curated.order_lines --partition year=2026/month=11
"""

from __future__ import annotations

import argparse
import sys

from pipeline import settings
from pipeline.publish import register_step, table_registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline.registry_cli", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["init", "list", "repair", "register"])
    parser.add_argument("--table", help="database.table (default: every table)")
    parser.add_argument("--partition", action="append", default=[], help="for register: year=YYYY[/month=M]")
    args = parser.parse_args(argv)
    try:
        config = settings.from_env()
        target = register_step.catalog_for(config)
        tables = [args.table] if args.table else sorted(target.tables)
        if args.command == "init":
            target.ensure_tables()
        elif args.command == "register":
            if not (args.table and args.partition):
                parser.error("register needs --table and at least one --partition")
            register_step.register_partitions(config, {args.table: args.partition}, {}, run_id="registry_cli")
        elif args.command == "repair":
            register_step.register_partitions(config, {}, {}, full_repair=True, run_id="registry_cli")
        for table in tables:
            if args.command in ("list", "repair", "register"):
                registered = target.registered(table)
                print(f"{table}: {len(registered)} partitions {table_registry.describe(registered)}")  # noqa: T201
    except (table_registry.CatalogError, settings.SettingsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
