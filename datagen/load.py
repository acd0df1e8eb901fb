"""Loads the catalog derived from a purchases file into PostgreSQL with COPY, in one transaction."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2

from datagen.purchases_file import CheckedPurchases, check_purchases, derive_catalog
from datagen.sql_files import statements as sql_statements

log = logging.getLogger("datagen.load")

# derived DuckDB table -> (staging table, its columns), in load order
STAGED_TABLES = {
    "derived_categories": ("staged_categories", "code, name"),
    "derived_products": ("staged_products", "asin, title, category_code, price, stock, first_sold"),
    "derived_customers": ("staged_customers", "survey_response_id, home_state, first_purchase"),
}


class LoadError(RuntimeError):
    """The catalog could not be loaded; nothing was changed in the database."""


@dataclass(frozen=True)
class LoadResult:
    checked: CheckedPurchases
    derived: dict[str, int]  # rows derived per table
    totals: dict[str, int]  # rows in the OLTP tables after the load
    seconds: dict[str, float]  # wall time per stage


def load_catalog(purchases_csv: Path, database_url: str, quarantine_dir: Path, max_bad_lines: int = 0) -> LoadResult:
    """Checks the purchases file, derives the catalog and upserts it; all or nothing."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect()
    checked = check_purchases(con, purchases_csv, quarantine_dir, max_bad_lines)
    seconds["check"] = time.perf_counter() - started

    started = time.perf_counter()
    derived = derive_catalog(con)
    statements = sql_statements("load_catalog.sql")
    with tempfile.TemporaryDirectory(prefix="bfp-catalog-") as tmp:
        exports = {}
        for table in STAGED_TABLES:
            exports[table] = Path(tmp) / f"{table}.csv"
            con.table(table).write_csv(str(exports[table]), header=True)
        con.close()
        seconds["derive"] = time.perf_counter() - started

        started = time.perf_counter()
        try:
            conn = psycopg2.connect(database_url)
        except psycopg2.OperationalError as exc:
            raise LoadError(f"cannot connect to the database: {exc}".strip()) from exc
        try:
            with conn, conn.cursor() as cur:  # one transaction: commit at the end, rollback on any error
                cur.execute(statements["stage"])
                for table, (staging, columns) in STAGED_TABLES.items():
                    with open(exports[table], encoding="utf-8") as handle:
                        cur.copy_expert(f"COPY {staging} ({columns}) FROM STDIN (FORMAT csv, HEADER true)", handle)
                for name in ("categories", "products", "customers"):
                    cur.execute(statements[name])
                cur.execute(statements["counts"])
                categories, products, customers = cur.fetchone()
        except psycopg2.Error as exc:
            raise LoadError(f"loading the catalog failed and was rolled back: {exc}".strip()) from exc
        finally:
            conn.close()
    seconds["load"] = time.perf_counter() - started
    totals = {"categories": categories, "products": products, "customers": customers}
    log.info("catalog loaded from %s: %s", purchases_csv, totals)
    return LoadResult(checked, derived, totals, seconds)
