"""Small lake operations for Spark jobs through Hadoop's FileSystem (file:// locally, s3:// on EMR)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms.session import empty_frame

MANIFEST = "_manifest.json"
INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)  # partition columns VersionedTable reads back


def _fs_and_path(spark: SparkSession, uri: str):
    """The Hadoop FileSystem of `uri` and its Path. The file system, the Path class and the configuration are
    looked up once per SparkContext and file system (each lookup is a round trip to the JVM: a pointer read cost
    eight of them, 7 ms, and a job reads one per partition it touches)."""
    context = spark.sparkContext
    known = context.__dict__.setdefault("_bfp_file_systems", {})
    if "Path" not in known:
        known["Path"] = context._jvm.org.apache.hadoop.fs.Path
        known["IOUtils"] = context._jvm.org.apache.commons.io.IOUtils
    path = known["Path"](uri)
    parts = urlsplit(uri)
    key = (parts.scheme, parts.netloc)
    if key not in known:
        known[key] = path.getFileSystem(context._jsc.hadoopConfiguration())
    return known[key], path


def _missing(exc: Exception) -> bool:
    """Whether py4j's error is the JVM's FileNotFoundException (a missing file or folder)."""
    java = getattr(exc, "java_exception", None)
    return java is not None and java.getClass().getName() == "java.io.FileNotFoundException"


def exists(spark: SparkSession, uri: str) -> bool:
    fs, path = _fs_and_path(spark, uri)
    return fs.exists(path)


def delete(spark: SparkSession, uri: str) -> None:
    fs, path = _fs_and_path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Moves a folder to `target` (its parent must exist; `target` must not)."""
    fs, source_path = _fs_and_path(spark, source)
    _, target_path = _fs_and_path(spark, target)
    fs.mkdirs(target_path.getParent())
    if not fs.rename(source_path, target_path):
        raise OSError(f"could not move {source} to {target}")


def size_bytes(spark: SparkSession, uri: str) -> int:
    """Bytes under `uri` (a file or a folder)."""
    fs, path = _fs_and_path(spark, uri)
    return fs.getContentSummary(path).getLength()


def write_json(spark: SparkSession, uri: str, document: dict) -> None:
    fs, path = _fs_and_path(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(document, indent=2, sort_keys=True, default=str).encode()))
    finally:
        stream.close()


def list_files(spark: SparkSession, uri: str) -> list[str]:
    """Names of the files directly under `uri` (none if it does not exist), sorted: one listing."""
    fs, path = _fs_and_path(spark, uri)
    try:
        statuses = fs.listStatus(path)
    except Exception as exc:  # py4j's error for the JVM's exception: only a missing folder means "no files"
        if _missing(exc):
            return []
        raise
    return sorted(status.getPath().getName() for status in statuses if status.isFile())


def read_json(spark: SparkSession, uri: str) -> dict | None:
    """A JSON document, or None if there is none."""
    fs, path = _fs_and_path(spark, uri)
    try:
        stream = fs.open(path)  # no exists() first: one request fewer for the pointers every job reads
    except Exception as exc:
        if _missing(exc):
            return None
        raise
    try:
        return json.loads(spark.sparkContext._bfp_file_systems["IOUtils"].toString(stream, "UTF-8"))
    finally:
        stream.close()


def list_dirs(spark: SparkSession, uri: str) -> list[str]:
    """Names of the folders directly under `uri` (none if it does not exist), sorted."""
    fs, path = _fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory())


def glob_files(spark: SparkSession, pattern: str) -> list[str]:
    """The paths of the files matching a Hadoop glob (`*` within one folder name), as the file system writes
    them: one call from here, the folders walked in the JVM."""
    fs, path = _fs_and_path(spark, pattern)
    statuses = fs.globStatus(path)  # null when the fixed part of the pattern does not exist
    return sorted(status.getPath().toString() for status in statuses or [] if status.isFile())


def partition_spec(partition_columns: Sequence[str], values: Sequence) -> str:
    """(year, month), (2022, 11) -> "year=2022/month=11", the folder Spark writes and the catalog registers."""
    return "/".join(f"{column}={value}" for column, value in zip(partition_columns, values, strict=True))


def write_partitioned(
    frame: DataFrame,
    uri: str,
    partition_columns: Sequence[str],
    sort_by: Sequence[str] = (),
    options: dict[str, str] | None = None,
) -> tuple[int, list[tuple]]:
    """Writes `frame` under `uri` partitioned by `partition_columns`, one file per partition (dynamic overwrite:
    only the partitions in `frame` are replaced), rows sorted by `sort_by` within a file. Returns the rows
    written and the partition values written, both observed during the write (no second pass over `frame`)."""
    written = Observation(f"write {uri}")
    observed = frame.observe(
        written,
        F.count(F.lit(1)).alias("rows"),
        F.to_json(F.collect_set(F.struct(*partition_columns))).alias("partitions"),
    )
    laid_out = observed.repartition(*partition_columns)
    if sort_by:
        laid_out = laid_out.sortWithinPartitions(*partition_columns, *sort_by)
    laid_out.write.options(**(options or {})).mode("overwrite").partitionBy(*partition_columns).parquet(uri)
    metrics = written.get
    values = sorted(tuple(value[c] for c in partition_columns) for value in json.loads(metrics["partitions"]))
    return metrics["rows"], values


# --- versioned tables: immutable partition versions, switched by a pointer ------------------------------------

VERSIONS = "_v"  # <table>/_v/<stamp>/<spec>/part-*.parquet: what one job wrote, never changed afterwards
CURRENT = "_current.json"  # <table>/<spec>/_current.json: the version the next job builds on
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # <when, to the microsecond: later versions sort after earlier ones>_<run id>


def new_stamp(run_id: str | None) -> str:
    """A version folder's name for one job attempt: `<UTC time>_<run id>`."""
    return f"{dt.datetime.now(dt.UTC):{STAMP_FORMAT}}_{run_id or 'manual'}"


class VersionedTable:
    """A lake table written without ever overwriting in place (rule 7: dynamic partition overwrite deletes, then
    moves, which is not atomic on S3). A job writes the partitions it changes to a new version folder
    (`<uri>/_v/<stamp>/<spec>/`); its later reads see those writes; `switch()` then points each partition's
    `_current.json` at its new version (or removes a partition every row left). A job killed before its switch
    changed nothing anyone reads; one killed during it is redone by its re-run. The catalog registers the
    version folders themselves after the DQ gate (dags/pipeline/publish/register_step.py), so analysts never see a
    version its gate did not pass. Reading a partition costs one pointer read: no listing of versions."""

    def __init__(self, spark: SparkSession, uri: str, columns: Sequence[str], schema: T.StructType | None, stamp: str):
        self.spark, self.uri, self.columns, self.schema, self.stamp = (
            spark,
            uri.rstrip("/"),
            tuple(columns),
            schema,
            stamp,
        )
        self.written: dict[tuple, str] = {}  # partition values -> the new version's folder (this job)
        self.removed: set[tuple] = set()  # partitions this job emptied
        self._pointers: dict[tuple, dict | None] = {}  # pointers read from the lake (pointer())

    def spec(self, values: Sequence) -> str:
        return partition_spec(self.columns, values)

    def current(self, values: Sequence) -> str | None:
        """The folder a partition's current version is in (this job's own write first); None when it has none."""
        values = tuple(values)
        if values in self.written:
            return self.written[values]
        if values in self.removed:
            return None
        pointer = self.pointer(values)
        return pointer["location"] if pointer else None

    def pointer(self, values: Sequence) -> dict | None:
        """The partition's pointer as the lake has it ({"stamp", "location"}): this job's writes left out. Read
        once per job: only this job's switch changes it (the lake's writers take turns)."""
        values = tuple(values)
        if values not in self._pointers:
            self._pointers[values] = read_json(self.spark, f"{self.uri}/{self.spec(values)}/{CURRENT}")
        return self._pointers[values]

    def read(self, values_list: Sequence[Sequence], schema: T.StructType | None = None) -> DataFrame:
        """The given partitions (those that exist), with their partition columns, as `schema` (the table's): one
        scan of every partition's current version, the partition values read back from each file's folder names
        (as Spark wrote them). One scan, not one per partition: a month of 40 buckets planned as a union of 40
        scans cost ~60 ms of driver time per partition and per action over it (bench-hourly's touched month)."""
        schema = self._readable(schema)  # before any pointer is read
        return self.read_locations([location for location in map(self.current, values_list) if location], schema)

    def read_locations(self, locations: Sequence[str], schema: T.StructType | None = None) -> DataFrame:
        """Partition versions by their folders (current or not), as `read` reads them."""
        schema = self._readable(schema)
        if not locations:
            return empty_frame(self.spark, schema)
        data_fields = [f for f in schema.fields if f.name not in self.columns]
        frame = self.spark.read.schema(T.StructType(data_fields)).parquet(*locations)
        # .../<column>=<value>/.../<file>: the partition folders are the last ones before the file
        folders = "".join(f"/{column}=(-?[0-9]+)" for column in self.columns)
        path = F.col("_metadata.file_path")
        values = {
            column: F.regexp_extract(path, f"{folders}/[^/]+$", group).cast(schema[column].dataType)
            for group, column in enumerate(self.columns, start=1)
        }
        return frame.withColumns(values).select(*schema.fieldNames())

    def _readable(self, schema: T.StructType | None) -> T.StructType:
        schema = schema or self.schema
        if not all(isinstance(schema[column].dataType, INTEGRAL) for column in self.columns):
            raise TypeError(f"{self.uri}: partition columns must be integers to be read back from folder names")
        return schema

    def partitions(self, prefix: Sequence = ()) -> list[tuple]:
        """Every partition under `prefix` (leading partition values) that has a current version, this job's writes
        included and its removals left out: one glob for their pointers (a month of 400 order-id buckets cost a
        listing and an existence check per bucket, each a round trip to the JVM: a second at 400)."""
        folders = [f"{c}={v}" for c, v in zip(self.columns, prefix, strict=False)]
        folders += [f"{c}=*" for c in self.columns[len(prefix) :]]
        with_pointer = set()
        for path in glob_files(self.spark, "/".join([self.uri, *folders, CURRENT])):
            names = path.split("/")[-len(self.columns) - 1 : -1]  # .../year=2026/month=12/bucket=5/_current.json
            values = [name.partition("=")[2] for name in names]
            with_pointer.add(tuple(int(v) if v.lstrip("-").isdigit() else v for v in values))
        mine = {values for values in self.written if values[: len(prefix)] == tuple(prefix)}
        return sorted((with_pointer | mine) - self.removed)

    def write(
        self, frame: DataFrame, sort_by: Sequence[str] = (), options: dict[str, str] | None = None
    ) -> tuple[int, list[tuple]]:
        """Writes `frame`'s partitions as this job's new versions (a fresh folder: nothing live is touched)."""
        root = f"{self.uri}/{VERSIONS}/{self.stamp}"
        rows, values = write_partitioned(frame, root, self.columns, sort_by, options)
        for value in values:
            self.written[tuple(value)] = f"{root}/{self.spec(value)}"
            self.removed.discard(tuple(value))
        return rows, values

    def remove(self, values_list: Sequence[Sequence]) -> None:
        """Partitions every row left: their pointers go at the switch."""
        for values in values_list:
            if tuple(values) not in self.written:
                self.removed.add(tuple(values))

    def switch(self) -> None:
        """Makes this job's versions current, partition by partition, and drops the emptied partitions."""
        self._pointers.clear()
        for values, location in sorted(self.written.items()):
            write_json(
                self.spark, f"{self.uri}/{self.spec(values)}/{CURRENT}", {"stamp": self.stamp, "location": location}
            )
        for values in sorted(self.removed):
            delete(self.spark, f"{self.uri}/{self.spec(values)}/{CURRENT}")

    def summary(self) -> dict:
        """What registration needs: the partitions written (and where their versions are) and removed."""
        return {
            "stamp": self.stamp,
            "partitions": [self.spec(v) for v in sorted(self.written)],
            "partitions_removed": [self.spec(v) for v in sorted(self.removed)],
            "locations": {self.spec(v): location for v, location in sorted(self.written.items())},
        }


class JobTables:
    """The versioned tables one job writes (by lake path), switched together when it ends: the orders' state
    last, so a job that dies while switching still finds its orders changed when re-run and rewrites the same
    partitions."""

    SWITCHED_LAST = "state/orders"

    def __init__(self, spark: SparkSession, lake: str, stamp: str):
        self.spark, self.lake, self.stamp = spark, lake.rstrip("/"), stamp
        self.tables: dict[str, VersionedTable] = {}

    def table(self, path: str, columns: Sequence[str], schema: T.StructType | None = None) -> VersionedTable:
        if path not in self.tables:
            self.tables[path] = VersionedTable(self.spark, f"{self.lake}/{path}", columns, schema, self.stamp)
        return self.tables[path]

    def switch(self) -> None:
        for path in sorted(self.tables, key=lambda p: p == self.SWITCHED_LAST):
            self.tables[path].switch()


def current_specs(spark: SparkSession, table_uri: str) -> list[str]:
    """Every partition of a versioned table that has a current version (walks its `col=value` folders): for a
    whole-table read by hand or in a test; jobs read the partitions they need by name."""
    found, level = [], [""]
    while level:
        deeper = []
        for spec in level:
            folder = f"{table_uri}/{spec}" if spec else table_uri
            if spec and exists(spark, f"{folder}/{CURRENT}"):
                found.append(spec)
                continue
            deeper += [f"{spec}/{name}".strip("/") for name in list_dirs(spark, folder) if "=" in name]
        level = deeper
    return sorted(found)


def read_current_table(spark: SparkSession, table_uri: str) -> DataFrame:
    """Every current partition of a versioned table, its partition columns added from the folder names (whole
    numbers as integers)."""
    frames = []
    for spec in current_specs(spark, table_uri):
        location = read_json(spark, f"{table_uri}/{spec}/{CURRENT}")["location"]
        values = dict(pair.split("=", 1) for pair in spec.split("/"))
        literals = {k: F.lit(int(v) if v.lstrip("-").isdigit() else v) for k, v in values.items()}
        frames.append(spark.read.parquet(location).withColumns(literals))
    if not frames:
        return empty_frame(spark, T.StructType([]))
    first = frames[0]
    for frame in frames[1:]:
        first = first.unionByName(frame, allowMissingColumns=True)
    return first
