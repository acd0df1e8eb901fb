"""Reads a purchases file (generated or the real Open e-commerce 1.0 one), checks every line, and derives
the storefront catalog from it: categories, products and customers, as DuckDB tables.

A file whose structure is broken (header, field count, quoting) is rejected whole. Lines with bad values
are written to quarantine with their line, field and reason; more of them than allowed rejects the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from datagen.purchases import PURCHASES_COLUMNS
from datagen.sql_files import statements

log = logging.getLogger("datagen.purchases_file")
QUARANTINE_COLUMNS = ("line", "field", "reason")
MAX_PROBLEMS_IN_MESSAGE = 5


class PurchasesFileError(ValueError):
    """The purchases file cannot be used; the message says where and what."""


@dataclass(frozen=True)
class CheckedPurchases:
    """Outcome of reading a purchases file into a DuckDB connection."""

    lines_read: int
    lines_valid: int
    problems: int
    quarantine_file: Path | None


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None):
    """The single value a query returns (fetching all rows: DuckDB 2 refuses new work on an open result)."""
    return con.execute(query, params or {}).fetchall()[0][0]


def check_header(path: Path) -> None:
    """Fails unless the first line is exactly the Open e-commerce 1.0 header."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise PurchasesFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PurchasesFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if header is None:
        raise PurchasesFileError(f"{path}: the file is empty; expected a header line")
    if tuple(header) != PURCHASES_COLUMNS:
        for position, (expected, found) in enumerate(zip(PURCHASES_COLUMNS, header, strict=False), start=1):
            if expected != found:
                raise PurchasesFileError(
                    f"{path}: line 1 (header), column {position}: expected {expected!r}, found {found!r}"
                )
        raise PurchasesFileError(
            f"{path}: line 1 (header): expected {len(PURCHASES_COLUMNS)} columns "
            f"{list(PURCHASES_COLUMNS)}, found {len(header)}"
        )


def _read_text_fields(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Loads the file's fields as text into `purchases_text`; fails on any structural problem."""
    columns = {name: "VARCHAR" for name in PURCHASES_COLUMNS}
    con.execute(
        "CREATE OR REPLACE TABLE purchases_text AS SELECT * FROM read_csv($path, header = true, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = $columns, "
        "store_rejects = true)",
        {"path": str(path), "columns": columns},
    )
    broken = con.execute(
        "SELECT line, arg_min(error_type::VARCHAR, column_idx), arg_min(error_message, column_idx) "
        "FROM reject_errors GROUP BY line ORDER BY line LIMIT $n",
        {"n": MAX_PROBLEMS_IN_MESSAGE},
    ).fetchall()
    if broken:
        details = "; ".join(f"line {line}: {kind.lower()}: {message}" for line, kind, message in broken)
        raise PurchasesFileError(f"{path}: malformed CSV ({details})")


def write_quarantine(con: duckdb.DuckDBPyConnection, quarantine_dir: Path, source: Path) -> Path:
    """Writes every problem line (line, field, reason, the raw fields) to quarantine; returns the file."""
    run = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = Path(quarantine_dir) / "purchases" / run / "rejected_lines.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    rejected = con.sql(
        "SELECT p.line, p.field, p.reason, $source AS source_file, t.* EXCLUDE (line) "
        "FROM purchases_problems p JOIN (SELECT rowid + 2 AS line, * FROM purchases_text) t USING (line) "
        "ORDER BY p.line, p.field",
        params={"source": str(source)},
    )
    rejected.write_csv(str(target), header=True)
    return target


def check_purchases(
    con: duckdb.DuckDBPyConnection, path: Path, quarantine_dir: Path, max_bad_lines: int = 0
) -> CheckedPurchases:
    """Reads and checks `path` into the `purchases` table of `con`; bad lines go to quarantine."""
    path = Path(path)
    check_header(path)
    _read_text_fields(con, path)
    for statement in statements("check_purchases.sql").values():
        con.execute(statement)
    lines_read = scalar(con, "SELECT count(*) FROM purchases_text")
    bad_lines = scalar(con, "SELECT count(DISTINCT line) FROM purchases_problems")
    if lines_read == 0:
        raise PurchasesFileError(f"{path}: the file has a header but no purchase lines")
    quarantine_file = write_quarantine(con, quarantine_dir, path) if bad_lines else None
    if bad_lines > max_bad_lines:
        first = con.execute(
            "SELECT line, field, reason FROM purchases_problems ORDER BY line, field LIMIT $n",
            {"n": MAX_PROBLEMS_IN_MESSAGE},
        ).fetchall()
        details = "; ".join(f"line {line}, field {field!r}: {reason}" for line, field, reason in first)
        raise PurchasesFileError(
            f"{path}: {bad_lines} bad line(s), more than the {max_bad_lines} allowed ({details}). "
            f"All of them are in {quarantine_file}; fix the file or raise --max-bad-lines"
        )
    return CheckedPurchases(lines_read, lines_read - bad_lines, bad_lines, quarantine_file)


def derive_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Builds derived_categories, derived_products and derived_customers from `purchases`; returns counts."""
    counts = {}
    for name, statement in statements("derive_catalog.sql").items():
        con.execute(statement)
        counts[name] = con.table(f"derived_{name}").aggregate("count(*)").fetchall()[0][0]
    return counts
