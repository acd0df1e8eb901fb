"""Canonical analyst queries (sql/analytics/*.sql, Athena/Trino SQL) and ad-hoc SQL, run on the local DuckDB
catalog. The dialect is translated by sqlglot; the catalog only shows registered partitions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot.errors import ParseError

REPO_ROOT = Path(__file__).resolve().parents[1]
QUERIES_DIR = REPO_ROOT / "sql" / "analytics"
SOURCE_DIALECT = "athena"


class QueryError(ValueError):
    """A query that is unknown, does not parse, or fails; the message says which and why."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]
    sql: str  # what ran on DuckDB

    def records(self) -> list[dict]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def default_catalog() -> str:
    return os.environ.get("BFP_CATALOG_PATH", str(REPO_ROOT / "data" / "catalog.duckdb"))


def canonical_queries(directory: Path = QUERIES_DIR) -> dict[str, Path]:
    """Name (file stem) -> path of every canonical query."""
    return {path.stem: path for path in sorted(directory.glob("*.sql"))}


def describe(path: Path) -> str:
    """The query's first comment line, as its one-line description."""
    first = path.read_text().splitlines()[0]
    return first.removeprefix("--").strip()


def to_duckdb(sql: str, dialect: str = SOURCE_DIALECT) -> str:
    """Athena (Trino) SQL -> DuckDB SQL. Exactly one statement."""
    try:
        statements = [s for s in sqlglot.transpile(sql, read=dialect, write="duckdb") if s.strip()]
    except ParseError as exc:
        raise QueryError(f"the SQL does not parse as {dialect}: {exc}") from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one statement, got {len(statements)}")
    return statements[0]


class Analyst:
    """A read-only connection to the catalog: analysts' queries cannot change it."""

    def __init__(self, catalog_path: str | None = None):
        path = catalog_path or default_catalog()
        if not Path(path).exists():
            raise QueryError(f"no catalog at {path}: run `make demo` (or the lake_rebuild DAG) first")
        self.conn = duckdb.connect(path, read_only=True)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Analyst:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_sql(self, sql: str, dialect: str = SOURCE_DIALECT) -> Result:
        translated = to_duckdb(sql, dialect)
        try:
            cursor = self.conn.execute(translated)
        except duckdb.Error as exc:
            raise QueryError(f"the query failed on DuckDB: {exc}\n  translated SQL: {translated}") from None
        return Result([d[0] for d in cursor.description], cursor.fetchall(), translated)

    def run_canonical(self, name: str) -> Result:
        queries = canonical_queries()
        if name not in queries:
            raise QueryError(f"no canonical query {name!r}; choose one of {sorted(queries)}")
        return self.run_sql(queries[name].read_text())
