"""Partition registration: what analysts can see. The table definitions are the Athena DDL in sql/athena/.

* aws target: the DDL and batched `ALTER TABLE ... ADD IF NOT EXISTS PARTITION` / `SET LOCATION` /
  `DROP IF EXISTS PARTITION` statements run on Athena through the amazon provider's AthenaHook (the hook
  AthenaOperator uses); a full repair publishes every partition found in the lake (pipeline.publish.register_step).
* local target: a DuckDB database file with the same meaning. Each table is a view over exactly its
  registered partition folders, so a partition that was written but not registered is invisible to queries,
  and registering it makes it visible. `repair` (the MSCK equivalent) registers every complete folder found.

Partitions are named as Spark writes them: "year=2022/month=11".
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import sqlglot
from sqlglot import expressions as exp

if TYPE_CHECKING:  # the local catalog's engine; the table contract itself needs only sqlglot (infra/ reads it)
    import duckdb

ATHENA_BATCH = 100  # partitions per ALTER TABLE statement (Athena limits a statement's length)


def describe(specs: list[str]) -> str:
    """Partitions for a message: all of them when few, else the count with the first and last."""
    return str(specs) if len(specs) <= 3 else f"{specs[0]} .. {specs[-1]}"


class CatalogError(ValueError):
    """A table or partition the catalog does not know; the message names it."""


@dataclass(frozen=True)
class TableDef:
    database: str  # curated | marts
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Athena type)
    partition_columns: tuple[tuple[str, str], ...]
    lake_path: str  # folder inside the lake, e.g. curated/order_lines
    ddl: str  # the CREATE EXTERNAL TABLE text with ${lake_uri} still in it
    properties: tuple[tuple[str, str], ...] = ()  # TBLPROPERTIES, e.g. ('parquet.compression', 'ZSTD')

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


def _column_defs(schema_or_property: exp.Expression) -> tuple[tuple[str, str], ...]:
    return tuple(
        (column.name, column.args["kind"].sql(dialect="athena"))
        for column in schema_or_property.find_all(exp.ColumnDef)
    )


@dataclass(frozen=True)
class ViewDef:
    """A view over the registered tables (e.g. marts.latest_completed_season), Athena SQL in sql/athena/."""

    database: str
    name: str
    sql: str  # the CREATE OR REPLACE VIEW statement, Athena SQL

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


def load_view_defs(ddl_dir: Path) -> dict[str, ViewDef]:
    """Every CREATE VIEW in `ddl_dir`, keyed by database.view."""
    views = {}
    for path in sorted(ddl_dir.glob("*.sql")):
        for statement in sqlglot.parse(path.read_text(), read="athena"):
            if isinstance(statement, exp.Create) and statement.kind == "VIEW":
                view = ViewDef(statement.this.db, statement.this.name, statement.sql("athena", comments=False))
                views[view.qualified] = view
    return views


def load_table_defs(ddl_dir: Path) -> dict[str, TableDef]:
    """Every CREATE EXTERNAL TABLE in `ddl_dir`, keyed by database.table."""
    tables = {}
    for path in sorted(ddl_dir.glob("*.sql")):
        text = path.read_text()
        for statement in sqlglot.parse(text.replace("${lake_uri}", "s3://lake"), read="athena"):
            if not isinstance(statement, exp.Create) or statement.kind != "TABLE":
                continue
            schema = statement.this
            partitioned = statement.find(exp.PartitionedByProperty)
            location = statement.find(exp.LocationProperty).this.name
            table = TableDef(
                database=schema.this.db,
                name=schema.this.name,
                columns=_column_defs(schema),
                partition_columns=_column_defs(partitioned) if partitioned else (),
                lake_path=location.removeprefix("s3://lake/").rstrip("/"),
                ddl=text,
                properties=tuple(
                    (prop.name, prop.args["value"].name)
                    for prop in statement.find_all(exp.Property)
                    if type(prop) is exp.Property  # TBLPROPERTIES entries; the others are typed subclasses
                ),
            )
            tables[table.qualified] = table
    return tables


def table_def(tables: dict[str, TableDef], qualified: str) -> TableDef:
    if qualified not in tables:
        raise CatalogError(f"unknown table {qualified!r}; known: {sorted(tables)}")
    return tables[qualified]


def parse_spec(table: TableDef, spec: str) -> list[tuple[str, str]]:
    """ "year=2022/month=11" -> [("year", "2022"), ("month", "11")], checked against the table's partitioning."""
    pairs = [part.split("=", 1) for part in spec.strip("/").split("/")]
    names = [name for name, _ in table.partition_columns]
    if [p[0] for p in pairs] != names or any(len(p) != 2 or not p[1] for p in pairs):
        raise CatalogError(f"partition {spec!r} of {table.qualified}: expected {'/'.join(n + '=…' for n in names)}")
    for (name, value), (_, kind) in zip(pairs, table.partition_columns, strict=True):
        if kind.upper() in ("INT", "INTEGER", "BIGINT") and not value.lstrip("-").isdigit():
            raise CatalogError(f"partition {spec!r} of {table.qualified}: {name} must be an integer, got {value!r}")
    return [(name, value) for name, value in pairs]


# --- aws: Athena -----------------------------------------------------------------------------------------


def _literal(value: str, kind: str) -> str:
    return value if kind.upper() in ("INT", "INTEGER", "BIGINT") else "'" + value.replace("'", "''") + "'"


def partition_clause(table: TableDef, spec: str) -> str:
    kinds = dict(table.partition_columns)
    return "PARTITION (" + ", ".join(f"{n}={_literal(v, kinds[n])}" for n, v in parse_spec(table, spec)) + ")"


def render_add_partitions(
    table: TableDef, specs: list[str], lake_uri: str, batch: int = ATHENA_BATCH, locations: dict | None = None
) -> list[str]:
    """Batched ALTER TABLE ... ADD IF NOT EXISTS PARTITION statements, one LOCATION per partition (its folder in
    the table, or the published snapshot given in `locations`), then, for snapshots, one SET LOCATION per
    partition: a partition that was registered already moves to its new snapshot."""
    where = {spec: f"{lake_uri.rstrip('/')}/{table.lake_path}/{spec.strip('/')}/" for spec in specs}
    where |= {spec: location.rstrip("/") + "/" for spec, location in (locations or {}).items()}
    statements = []
    for first in range(0, len(specs), batch):
        parts = [f"{partition_clause(table, spec)} LOCATION '{where[spec]}'" for spec in specs[first : first + batch]]
        statements.append(f"ALTER TABLE {table.qualified} ADD IF NOT EXISTS\n  " + "\n  ".join(parts))
    for spec in locations or {}:
        statements.append(f"ALTER TABLE {table.qualified} {partition_clause(table, spec)} SET LOCATION '{where[spec]}'")
    return statements


def render_drop_partitions(table: TableDef, specs: list[str], batch: int = ATHENA_BATCH) -> list[str]:
    return [
        f"ALTER TABLE {table.qualified} DROP IF EXISTS "
        + ", ".join(partition_clause(table, spec) for spec in specs[first : first + batch])
        for first in range(0, len(specs), batch)
    ]


def render_create(table: TableDef, lake_uri: str) -> list[str]:
    """The database and table DDL with the lake URI filled in (both IF NOT EXISTS: safe to repeat)."""
    statement = "\n".join(line for line in table.ddl.splitlines() if not line.startswith("--")).strip().rstrip(";")
    return [f"CREATE DATABASE IF NOT EXISTS {table.database}", statement.replace("${lake_uri}", lake_uri.rstrip("/"))]


class AthenaCatalog:
    """Runs the rendered statements on Athena, one at a time, waiting for each."""

    def __init__(
        self,
        tables: dict[str, TableDef],
        lake_uri: str,
        output_uri: str,
        workgroup: str,
        conn_id: str,
        views: dict[str, ViewDef] | None = None,
    ):
        self.tables, self.lake_uri, self.output_uri, self.workgroup = tables, lake_uri, output_uri, workgroup
        self.conn_id, self.views = conn_id, views or {}

    def _run(self, statements: list[str], database: str) -> list[str]:
        """Runs each statement and waits for it; returns the query execution ids."""
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        hook = AthenaHook(aws_conn_id=self.conn_id, log_query=True)
        query_ids = []
        for statement in statements:
            query_id = hook.run_query(
                statement,
                query_context={"Database": database},
                result_configuration={"OutputLocation": self.output_uri},
                workgroup=self.workgroup,
            )
            state = hook.poll_query_status(query_id, sleep_time=1)
            if state != "SUCCEEDED":
                reason = hook.get_state_change_reason(query_id)
                raise CatalogError(f"Athena {state} ({reason}) for: {statement[:200]}")
            query_ids.append(query_id)
        return query_ids

    def register(
        self, qualified: str, specs: list[str], removed: list[str] = (), locations: dict | None = None
    ) -> list[str]:
        """Runs the DDL and the batched ADD / DROP statements; returns their query execution ids."""
        table = table_def(self.tables, qualified)
        statements = render_create(table, self.lake_uri)
        statements += render_add_partitions(table, specs, self.lake_uri, locations=locations) if specs else []
        statements += render_drop_partitions(table, list(removed)) if removed else []
        return self._run(statements, table.database)

    def ensure_tables(self) -> None:
        for table in self.tables.values():
            self._run(render_create(table, self.lake_uri), table.database)
        self.ensure_views()

    def ensure_views(self) -> None:
        """(Re)creates the views over the tables (CREATE OR REPLACE: safe to repeat)."""
        for view in self.views.values():
            self._run([view.sql], view.database)

    def registered(self, qualified: str) -> list[str]:
        """SHOW PARTITIONS: one "year=2022/month=11" per row."""
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        table = table_def(self.tables, qualified)
        query_id = self._run([f"SHOW PARTITIONS {table.qualified}"], table.database)[0]
        results = AthenaHook(aws_conn_id=self.conn_id).get_query_results(query_id) or {"ResultSet": {"Rows": []}}
        rows = [row["Data"][0].get("VarCharValue", "") for row in results["ResultSet"]["Rows"]]
        return sorted(row for row in rows if row)


# --- local: DuckDB -----------------------------------------------------------------------------------------


class LocalCatalog:
    """A DuckDB file: `_catalog.partitions` lists what is registered; each table is a view over those folders."""

    def __init__(self, tables: dict[str, TableDef], lake_uri: str, path: str, views: dict[str, ViewDef] | None = None):
        self.tables, self.lake_uri, self.path, self.views = tables, lake_uri.rstrip("/"), path, views or {}
        parsed = urlparse(self.lake_uri)
        if parsed.scheme not in ("", "file"):
            raise CatalogError(f"the local catalog reads a local lake; BFP_LAKE_URI is {lake_uri!r}")
        self.lake_root = parsed.path if parsed.scheme else self.lake_uri

    def _connect(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        import duckdb

        conn = duckdb.connect(self.path)
        conn.execute("CREATE SCHEMA IF NOT EXISTS _catalog")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _catalog.partitions (table_name VARCHAR, spec VARCHAR, location VARCHAR,"
            " registered_at TIMESTAMPTZ, PRIMARY KEY (table_name, spec))"
        )
        return conn

    def folder(self, table: TableDef, spec: str) -> str:
        """A partition's current version (its `_current.json`: pipeline.staging), else its folder in the table."""
        partition = Path(self.lake_root, table.lake_path, spec.strip("/"))
        pointer = partition / "_current.json"
        if pointer.exists():
            return urlparse(json.loads(pointer.read_text())["location"]).path
        return str(partition)

    def _rebuild_view(self, conn: duckdb.DuckDBPyConnection, table: TableDef) -> None:
        locations = [
            row[0]
            for row in conn.execute(
                "SELECT location FROM _catalog.partitions WHERE table_name = ? ORDER BY spec", [table.qualified]
            ).fetchall()
        ]
        columns = [
            (name, exp.DataType.build(kind, dialect="athena").sql("duckdb"))
            for name, kind in (*table.columns, *table.partition_columns)
        ]
        if locations:
            files = ", ".join("'" + posixpath.join(loc, "*.parquet").replace("'", "''") + "'" for loc in locations)
            typed = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in columns)
            # names and types come from our DDL files, locations from our lake layout: no user input
            body = f"SELECT {typed} FROM read_parquet([{files}], hive_partitioning = true, union_by_name = true)"  # noqa: S608
        else:  # nothing registered: an empty table with the right columns
            body = "SELECT " + ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in columns) + " WHERE false"
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.database}")
        conn.execute(f"CREATE OR REPLACE VIEW {table.qualified} AS {body}")

    def ensure_tables(self) -> None:
        """Creates the (empty) view of every table that has none yet."""
        with self._connect() as conn:
            existing = {
                r[0] for r in conn.execute("SELECT schema_name || '.' || view_name FROM duckdb_views()").fetchall()
            }
            for table in self.tables.values():
                if table.qualified not in existing:
                    self._rebuild_view(conn, table)
            self._create_views(conn)

    def ensure_views(self) -> None:
        """The views over the tables; a table nothing was registered in yet gets its empty view first."""
        self.ensure_tables()

    def _create_views(self, conn: duckdb.DuckDBPyConnection) -> None:
        for view in self.views.values():
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {view.database}")
            conn.execute(sqlglot.transpile(view.sql, read="athena", write="duckdb")[0])

    def register(
        self, qualified: str, specs: list[str], removed: list[str] = (), locations: dict | None = None
    ) -> list[str]:
        """Registers partitions (idempotent; a partition registered before moves to its new location) and drops
        the removed ones, in one transaction: a reader sees the table before or after, never a mix. `locations`
        (spec -> folder or file:// URI) are the versions a run wrote; without one a partition's current version.
        Returns the specs now registered."""
        table = table_def(self.tables, qualified)
        for spec in [*specs, *removed]:
            parse_spec(table, spec)
        where = {spec: self.folder(table, spec) for spec in specs}
        where |= {
            spec: urlparse(loc).path if loc.startswith("file://") else loc for spec, loc in (locations or {}).items()
        }
        missing = [spec for spec in specs if not list(Path(where[spec]).glob("*.parquet"))]
        if missing:
            raise CatalogError(f"{qualified}: no Parquet files in partitions {missing}; run the transform first")
        now = dt.datetime.now(dt.UTC)
        with self._connect() as conn:
            conn.execute("BEGIN")
            for spec in specs:
                conn.execute(
                    "INSERT INTO _catalog.partitions VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE"
                    " SET location = excluded.location, registered_at = excluded.registered_at",
                    [qualified, spec, where[spec], now],
                )
            for spec in removed:
                conn.execute("DELETE FROM _catalog.partitions WHERE table_name = ? AND spec = ?", [qualified, spec])
            self._rebuild_view(conn, table)
            conn.execute("COMMIT")
        return self.registered(qualified)

    def repair(self, qualified: str) -> list[str]:
        """MSCK REPAIR: registers every partition's current version (its `_current.json`), forgets the ones gone."""
        table = table_def(self.tables, qualified)
        base = Path(self.lake_root, table.lake_path)
        pattern = "/".join(["*"] * len(table.partition_columns)) + "/_current.json"
        pointers = sorted(base.glob(pattern)) if base.exists() else []
        locations = {str(p.parent.relative_to(base)): json.loads(p.read_text())["location"] for p in pointers}
        gone = [spec for spec in self.registered(qualified) if spec not in locations]
        return self.register(qualified, sorted(locations), gone, locations)

    def registered(self, qualified: str) -> list[str]:
        with self._connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT spec FROM _catalog.partitions WHERE table_name = ? ORDER BY spec", [qualified]
                ).fetchall()
            ]
