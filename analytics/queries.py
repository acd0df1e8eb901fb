"""Canonical analyst queries (sql/analytics/*.sql, Athena/Trino SQL) and ad-hoc SQL, run on the local DuckDB
catalog. The dialect is translated by sqlglot; the catalog only shows registered partitions.

A query that takes parameters says so in a comment line, `-- parameters: season`, and has one `?` per name in
that order (Athena's execution parameters work the same way). An omitted parameter is NULL: the query's own
default applies (for `season`, the latest completed season, from the view marts.latest_completed_season)."""

from __future__ import annotations

import os
import re
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


def parameters(sql: str) -> list[str]:
    """The parameter names a query declares (`-- parameters: a, b`), in placeholder order."""
    declared = re.search(r"^--\s*parameters:\s*(.+)$", sql, flags=re.MULTILINE)
    return [name.strip() for name in declared.group(1).split(",")] if declared else []


def bind(sql: str, values: dict[str, object]) -> list[object]:
    """The placeholder values of a query, in order; unknown names are refused, omitted ones are NULL."""
    names = parameters(sql)
    unknown = sorted(set(values) - set(names))
    if unknown:
        takes = ", ".join(names) if names else "no parameters"
        raise QueryError(f"unknown parameter(s) {unknown}: this query takes {takes}")
    return [values.get(name) for name in names]


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

    def run_sql(self, sql: str, dialect: str = SOURCE_DIALECT, values: list | None = None) -> Result:
        translated = to_duckdb(sql, dialect)
        try:
            cursor = self.conn.execute(translated, values or [])
        except duckdb.Error as exc:
            raise QueryError(f"the query failed on DuckDB: {exc}\n  translated SQL: {translated}") from None
        return Result([d[0] for d in cursor.description], cursor.fetchall(), translated)

    def run_canonical(self, name: str, **values: object) -> Result:
        """Runs a canonical query; keyword arguments fill its declared parameters (e.g. season=2024)."""
        queries = canonical_queries()
        if name not in queries:
            raise QueryError(f"no canonical query {name!r}; choose one of {sorted(queries)}")
        sql = queries[name].read_text()
        return self.run_sql(sql, values=bind(sql, values))
