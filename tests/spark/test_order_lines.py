"""Curated order_lines: latest-wins merge of OLTP versions, deterministic historical rows, partition moves."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import build_order_lines, lake_io
from pipeline.extract import raw_tables
from tests.spark.raw_windows import line, order, ts, write_window
from transforms import contract_schemas, order_lines, purchases


def test_spark_schemas_match_what_the_extract_writes(spark, tmp_path):
    for name, spark_schema in (("orders", contract_schemas.ORDERS), ("order_items", contract_schemas.ORDER_ITEMS)):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(raw_tables.RAW_TABLES[name].empty_table(), path)
        assert spark.read.parquet(str(path)).schema == spark_schema, name


def test_latest_version_wins_and_lines_follow_their_version(spark):
    v1, v2 = ts(2026, 3, 1, 10), ts(2026, 3, 1, 11)
    raw_orders = spark.createDataFrame(
        [
            {**order(1, v1, v1, "pending"), "window": "20260301T1100"},
            {**order(1, v1, v2, "cancelled"), "window": "20260301T1200"},
            {**order(2, v1, v1, "paid"), "window": "20260301T1100"},
            {**order(3, v1, v1, "paid", deleted=v2), "window": "20260301T1100"},
        ],
        schema=T.StructType([*contract_schemas.ORDERS.fields, T.StructField("window", T.StringType())]),
    )
    raw_items = spark.createDataFrame(
        [
            line(1, v1, price="10.00"),
            line(1, v2, price="10.00"),
            line(2, v1, line_no=1),
            line(2, v1, line_no=2, quantity=3),
            line(3, v1),
        ],
        schema=contract_schemas.ORDER_ITEMS,
    )
    curated = order_lines.from_oltp(order_lines.latest_orders(raw_orders), raw_items)
    got = sorted((r.order_id, r.line_no, r.status, r.revenue, r.source_ref) for r in curated.collect())
    assert got == [
        ("o-1", 1, "cancelled", Decimal("0.00"), "20260301T1200"),  # latest version; cancelled earns nothing
        ("o-2", 1, "paid", Decimal("10.00"), "20260301T1100"),
        ("o-2", 2, "paid", Decimal("30.00"), "20260301T1100"),
    ]  # order 3 is soft-deleted
    row = curated.where("order_id = 'o-2' AND line_no = 1").first()
    assert (row.order_date, row.year, row.month, row.customer_id, row.is_black_friday_window) == (
        dt.date(2026, 3, 1),
        2026,
        3,
        "c-7",
        False,
    )


def test_historical_rows_get_stable_ids_and_duplicates_stay_distinct(spark):
    same = (dt.date(2022, 11, 25), Decimal("5.00"), 1, "CA", "Pen", "B000000009", "OFFICE", "R_x")
    typed = spark.createDataFrame(
        [same, same, (*same[:1], Decimal("6.00"), *same[2:])],
        T.StructType([f for f in contract_schemas.PURCHASES.fields if f.name != "occurrence"]),
    )
    first = order_lines.from_purchases(purchases.raw_layout(typed, files=2), "i1")
    second = order_lines.from_purchases(purchases.raw_layout(typed.orderBy(F.col("unit_price").desc()), files=1), "i1")
    ids = sorted(r.order_id for r in first.collect())
    assert ids == sorted(r.order_id for r in second.collect())
    assert len(set(ids)) == 3
    row = first.where(F.col("unit_price") == 6).first()
    assert (row.revenue, row.is_seed_week, row.is_black_friday, row.source, row.source_ref) == (
        Decimal("6.00"),
        True,
        True,
        "purchases",
        "i1",
    )


def partition_files(root: Path) -> dict[str, str]:
    """Curated partition -> the folder of its current version (lake_io.VersionedTable's pointers)."""
    return {
        str(pointer.parent.relative_to(root)): json.loads(pointer.read_text())["location"]
        for pointer in sorted(root.glob(f"year=*/month=*/bucket=*/{lake_io.CURRENT}"))
    }


def run_job(spark, lake: Path, *args: str) -> None:
    assert (
        build_order_lines.run(spark, build_order_lines.parse_args(["--lake", lake.as_uri(), *args]))["status"]
        == "success"
    )


def test_a_late_update_moves_an_order_between_months_and_leaves_other_partitions_alone(spark, tmp_path):
    lake = tmp_path / "lake"
    a1, b1, c1 = ts(2026, 1, 31, 23), ts(2026, 2, 10), ts(2026, 3, 5)
    write_window(
        lake,
        "20260305T1200",
        [order(1, a1, a1), order(2, b1, b1), order(3, c1, c1)],
        [line(1, a1), line(2, b1), line(3, c1)],
    )
    run_job(spark, lake, "--windows", "20260305T1200")
    curated = lake / "curated" / "order_lines"
    before = partition_files(curated)
    assert sorted(before) == ["year=2026/month=1/bucket=0", "year=2026/month=2/bucket=0", "year=2026/month=3/bucket=0"]

    moved = ts(2026, 3, 6, 9)  # a correction: order 1 really belongs to February
    write_window(lake, "20260306T1000", [order(1, ts(2026, 2, 1, 0, 30), moved)], [line(1, moved, price="12.00")])
    run_job(spark, lake, "--windows", "20260306T1000")

    after = partition_files(curated)
    assert "year=2026/month=1/bucket=0" not in after  # its only order left
    assert after["year=2026/month=3/bucket=0"] == before["year=2026/month=3/bucket=0"]  # untouched: same version
    assert after["year=2026/month=2/bucket=0"] != before["year=2026/month=2/bucket=0"]  # a new version, not in place
    rows = lake_io.read_current_table(spark, curated.as_uri())
    got = sorted((r.order_id, r.month, r.revenue) for r in rows.collect())
    assert got == [("o-1", 2, Decimal("12.00")), ("o-2", 2, Decimal("10.00")), ("o-3", 3, Decimal("10.00"))]


def test_rerunning_windows_gives_identical_rows(spark, tmp_path):
    lake = tmp_path / "lake"
    v1, v2 = ts(2026, 4, 1, 8), ts(2026, 4, 1, 9)
    write_window(lake, "20260401T0900", [order(5, v1, v1)], [line(5, v1)])
    write_window(lake, "20260401T1000", [order(5, v1, v2, "shipped")], [line(5, v2)])
    run_job(spark, lake, "--all-windows")
    curated = (lake / "curated" / "order_lines").as_uri()
    first = sorted(lake_io.read_current_table(spark, curated).collect())
    run_job(spark, lake, "--windows", "20260401T0900")  # an older window re-run cannot bring back version 1
    assert sorted(lake_io.read_current_table(spark, curated).collect()) == first
    assert [r.status for r in first] == ["shipped"]


def test_an_incomplete_window_is_refused(spark, tmp_path):
    lake = tmp_path / "lake"
    (lake / "raw" / "orders" / "window=20260401T0900").mkdir(parents=True)  # files may be there, no manifest
    with pytest.raises(ValueError, match="without a manifest"):
        run_job(spark, lake, "--windows", "20260401T0900")


@pytest.mark.parametrize("labels", ["../../etc", "20261124T1800,x", "2026112T1800", ",,"])
def test_a_window_label_that_is_not_the_extracts_is_refused_before_it_names_a_path(labels, capsys):
    with pytest.raises(SystemExit) as exited:
        build_order_lines.parse_args(["--lake", "file:///tmp/lake", "--windows", labels])
    assert exited.value.code == 2 and "expected window labels like 20261124T1800" in capsys.readouterr().err
