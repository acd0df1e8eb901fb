"""The probes the capacity plan's inputs come from see what they claim: Redis commands counted exactly and keys
measured by kind (bench/redis_usage.py), and the bytes a query scans equal to the Parquet footers' sizes of
the columns and partitions it reads (bench/athena_scan.py)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis

from bench import athena_scan, redis_usage


@pytest.fixture
def scratch_redis(services):
    """Database 9 of the state server, empty (no other test uses it)."""
    url = services.redis_url.rsplit("/", 1)[0] + "/9"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, client
    client.flushdb()


def test_counting_sees_every_command_of_the_block_and_nothing_else(scratch_redis):
    url, client = scratch_redis
    client.set("before", 1)  # outside the block: not counted
    with redis_usage.counting({"state": url}) as count:
        for n in range(5):
            client.set(f"product:{n}", "x" * 100)
        pipe = client.pipeline(transaction=False)
        pipe.get("product:1").hset("cart:7", mapping={"1": 2, "2": 1}).expire("cart:7", 60)
        pipe.execute()
    client.set("after", 1)

    assert count.by_role == {"state": 8}


def test_footprint_groups_keys_by_kind_and_measures_them(scratch_redis):
    url, client = scratch_redis
    for n in range(30):
        client.set(f"product:{n}", "x" * 2_000)
    client.hset("cart:1", mapping={str(n): 1 for n in range(10)})
    client.set("categories", "[]")

    prints = {p.kind: p for p in redis_usage.footprint(url)}

    assert {kind: p.keys for kind, p in prints.items()} == {"product": 30, "cart": 1, "categories": 1}
    assert 2_000 < prints["product"].mean_bytes < 2_400  # the value and Redis' own overhead
    assert next(p.kind for p in redis_usage.footprint(url)) == "product"  # the most memory first


@pytest.fixture
def partitioned_catalog(tmp_path):
    """A catalog view over two partitions of a Parquet table, as the local registry builds them."""
    for part in (1, 2):
        folder = tmp_path / "t" / f"part={part}"
        folder.mkdir(parents=True)
        rows = 20_000 * part
        table = pa.table({"a": pa.array(range(rows)), "b": pa.array([f"v{n % 977}" for n in range(rows)])})
        pq.write_table(table, folder / "f.parquet", row_group_size=5_000)
    path = tmp_path / "catalog.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA s")
        files = f"{tmp_path}/t/*/*.parquet"
        conn.execute(f"CREATE VIEW s.t AS SELECT * FROM read_parquet('{files}', hive_partitioning = 1)")  # noqa: S608
    return path, tmp_path / "t"


def footer_bytes(files: str, column: str) -> int:
    query = "SELECT sum(total_compressed_size) FROM parquet_metadata(?) WHERE path_in_schema = ?"
    return duckdb.execute(query, [files, column]).fetchone()[0]


def test_scanned_bytes_are_the_footers_sizes_of_the_columns_and_partitions_read(partitioned_catalog):
    path, table = partitioned_catalog
    with athena_scan.MeteredAnalyst(str(path)) as analyst:
        analyst.run_sql("SELECT count(DISTINCT b) FROM s.t WHERE part = 2", dialect="duckdb")
        analyst.run_sql("SELECT sum(a) FROM s.t", dialect="duckdb")
        analyst.run_sql("SELECT max(a), max(b) FROM s.t", dialect="duckdb")
        one_column, both_parts, both_columns = analyst.scans

    assert one_column == athena_scan.Scan(footer_bytes(f"{table}/part=2/*.parquet", "b"), files_read=1)
    assert both_parts == athena_scan.Scan(footer_bytes(f"{table}/*/*.parquet", "a"), files_read=2)
    assert both_columns.bytes_scanned == footer_bytes(f"{table}/*/*.parquet", "a") + footer_bytes(
        f"{table}/*/*.parquet", "b"
    )


def test_athena_bills_at_least_ten_megabytes_a_query():
    assert athena_scan.cost_usd(1_000) == athena_scan.cost_usd(10 * 2**20) == 10 * 2**20 * 5 / 1e12
    assert athena_scan.cost_usd(10**12) == 5.0
