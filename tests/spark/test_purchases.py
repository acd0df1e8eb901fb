"""Typing and quarantining purchase lines, and the import job end to end on local Spark."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from datagen import purchases as generator
from jobs import import_purchases
from tests.spark.conftest import assert_frames_equal
from transforms import purchases

HEADER = ",".join(purchases.FILE_COLUMNS)
GOOD = [
    '2022-11-25,19.99,1.0,CA,"Toy, Large",B000000001,TOYS_AND_GAMES,R_aaaaaaaaaaaaaaa',
    "2021-01-02,5.00,2.0,,,B000000002,,R_bbbbbbbbbbbbbbb",
]
BAD = [
    "2022-13-01,1.00,1.0,NY,Pen,B000000003,OFFICE,R_ccccccccccccccc",
    "2022-01-01,-1.00,1.0,NY,Pen,B000000003,OFFICE,R_ccccccccccccccc",
    "2022-01-01,1.00,0.5,NY,Pen,B000000003,OFFICE,R_ccccccccccccccc",
    "2022-01-01,1.00,1.0,NY,Pen,b3,OFFICE,R_ccccccccccccccc",
    "2022-01-01,1.00,1.0,New York,Pen,B000000003,OFFICE,R_ccccccccccccccc",
    "2022-01-01,1.00,1.0,NY,Pen,B000000003,OFFICE,",
    "2022-01-01,1.00",
]

TYPED_DDL = (
    "order_date date, unit_price decimal(12,2), quantity int, state string, title string, asin string, "
    "category string, survey_response_id string"
)


def write_csv(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return str(path)


def test_valid_lines_are_typed(spark, tmp_path):
    typed = purchases.type_purchases(purchases.read_purchases_text(spark, write_csv(tmp_path / "p.csv", GOOD)))
    expected = spark.createDataFrame(
        [
            (
                dt.date(2022, 11, 25),
                Decimal("19.99"),
                1,
                "CA",
                "Toy, Large",
                "B000000001",
                "TOYS_AND_GAMES",
                "R_aaaaaaaaaaaaaaa",
            ),
            (
                dt.date(2021, 1, 2),
                Decimal("5.00"),
                2,
                None,
                "Product B000000002",
                "B000000002",
                "UNCATEGORIZED",
                "R_bbbbbbbbbbbbbbb",
            ),
        ],
        "order_date date, unit_price decimal(12,2), quantity int, state string, title string, asin string, "
        "category string, survey_response_id string",
    )
    assert_frames_equal(purchases.valid_purchases(typed), expected)
    assert purchases.quarantined_purchases(typed).count() == 0


def test_categories_become_codes_and_dates_must_be_iso(spark, tmp_path):
    categories = ["Toys & Games", "TOYS_AND_GAMES", "A__B", " pet food ", "_X_", "ÉLECTRONIQUE"]
    lines = [f"2022-11-25,1.00,1.0,CA,Pen,B000000001,{c},R_x" for c in categories]
    lines += [f"{d},1.00,1.0,CA,Pen,B000000001,OFFICE,R_x" for d in ("2022-1-05", "2022-01-05 x", "2022-02-30")]
    typed = purchases.type_purchases(purchases.read_purchases_text(spark, write_csv(tmp_path / "p.csv", lines)))
    valid = purchases.valid_purchases(typed).collect()
    assert [row.category for row in valid] == ["TOYS_GAMES", "TOYS_AND_GAMES", "A_B", "PET_FOOD", "_X_", "_LECTRONIQUE"]
    reasons = [row.reason for row in purchases.quarantined_purchases(typed).collect()]
    assert reasons == [
        "Order Date must be YYYY-MM-DD, got 2022-1-05",
        "Order Date must be YYYY-MM-DD, got 2022-01-05 x",
        "Order Date must be YYYY-MM-DD, got 2022-02-30",
    ]


def test_bad_lines_are_quarantined_with_the_reason_and_their_raw_fields(spark, tmp_path):
    typed = purchases.type_purchases(purchases.read_purchases_text(spark, write_csv(tmp_path / "p.csv", GOOD + BAD)))
    got = {(row["reason"], row["Order Date"]) for row in purchases.quarantined_purchases(typed).collect()}
    assert got == {
        ("Order Date must be YYYY-MM-DD, got 2022-13-01", "2022-13-01"),
        ("Purchase Price Per Unit must be a number >= 0, got -1.00", "2022-01-01"),
        ("Quantity must be a whole number > 0, got 0.5", "2022-01-01"),
        ("ASIN/ISBN (Product Code) must be 10 capital letters or digits, got b3", "2022-01-01"),
        ("Shipping Address State must be a 2-letter code, got New York", "2022-01-01"),
        ("Survey ResponseID must not be empty", "2022-01-01"),
        ("malformed line: wrong number of fields or broken quoting", "2022-01-01"),
    }
    assert purchases.valid_purchases(typed).count() == 2


def test_the_import_job_writes_typed_parquet_then_its_manifest(spark, tmp_path):
    table = generator.generate_purchases(generator.Scale("tiny", rows=2_000, products=300, customers=40), seed=5)
    csv_path = generator.write_purchases_csv(table, tmp_path / "p.csv")
    with open(csv_path, "a") as handle:
        handle.write(BAD[0] + "\n")
    lake = (tmp_path / "lake").as_uri()

    args = ["--input", str(csv_path), "--lake", lake, "--import-id", "t1", "--max-bad-share", "0.01"]
    summary = import_purchases.run(spark, import_purchases.parse_args(args))

    assert summary["status"] == "success"
    folder = tmp_path / "lake" / "raw" / "purchases" / "import=t1"
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert (manifest["rows_in"], manifest["rows_out"], manifest["rows_quarantined"]) == (2_001, 2_000, 1)
    written = pq.read_table(folder)
    assert written.num_rows == 2_000
    assert written.column_names == list(purchases.RAW_COLUMNS)
    quarantined = pq.read_table(tmp_path / "lake" / "quarantine" / "purchases" / "t1").to_pylist()
    assert [row["reason"] for row in quarantined] == ["Order Date must be YYYY-MM-DD, got 2022-13-01"]


def test_the_import_fails_when_too_many_lines_are_bad(spark, tmp_path):
    csv_path = write_csv(tmp_path / "p.csv", GOOD + BAD)
    lake = (tmp_path / "lake").as_uri()
    args = ["--input", csv_path, "--lake", lake, "--import-id", "t2", "--max-bad-share", "0.5"]
    summary = import_purchases.run(spark, import_purchases.parse_args(args))
    assert summary["status"] == "failed" and "--max-bad-share" in summary["next_step"]
    assert not (tmp_path / "lake" / "raw" / "purchases" / "import=t2" / "_manifest.json").exists()
    assert pq.read_table(tmp_path / "lake" / "quarantine" / "purchases" / "t2").num_rows == len(BAD)


def test_a_file_of_only_bad_lines_fails_and_keeps_the_earlier_import(spark, tmp_path):
    lake = (tmp_path / "lake").as_uri()
    good = ["--input", write_csv(tmp_path / "good.csv", GOOD), "--lake", lake, "--import-id", "t3"]
    assert import_purchases.run(spark, import_purchases.parse_args(good))["status"] == "success"
    bad = ["--input", write_csv(tmp_path / "bad.csv", BAD), "--lake", lake, "--import-id", "t3"]
    summary = import_purchases.run(spark, import_purchases.parse_args(bad))
    assert (summary["status"], summary["rows_in"], summary["rows_quarantined"]) == ("failed", len(BAD), len(BAD))
    kept = tmp_path / "lake" / "raw" / "purchases" / "import=t3"
    assert pq.read_table(kept).num_rows == len(GOOD) and (kept / "_manifest.json").exists()
    assert not list((tmp_path / "lake" / "raw" / "purchases" / "_staging").glob("*"))


def test_raw_layout_numbers_identical_lines_and_keeps_each_product_in_one_file(spark):
    rows = [
        (dt.date(2022, 11, 25), Decimal("5.00"), 1, "CA", f"Title {asin}", asin, "OFFICE", "R_x")
        for asin in [f"B00000000{i}" for i in range(10)]
    ]
    typed = spark.createDataFrame(rows * 3 + rows[:1], TYPED_DDL)
    laid_out = purchases.raw_layout(typed, files=3)
    by_file = laid_out.rdd.glom().map(lambda part: sorted({row.asin for row in part})).collect()
    assert len(by_file) == 3 and sum(len(asins) for asins in by_file) == 10  # no ASIN in two files
    occurrences = sorted((row.asin, row.occurrence) for row in laid_out.collect())
    assert occurrences == sorted(
        [(row[5], n) for row in rows for n in (1, 2, 3)] + [(rows[0][5], 4)]
    )  # the first line appears 4 times
    for part in laid_out.rdd.glom().collect():  # each file in RAW_ORDER
        keys = [tuple(str(row[c]) for c in purchases.RAW_ORDER) for row in part]
        assert keys == sorted(keys)


def test_the_same_file_imports_to_the_same_rows(spark, tmp_path):
    csv_path = write_csv(tmp_path / "p.csv", GOOD * 3 + BAD[:1])
    outputs = []
    for attempt in ("a", "b"):
        lake = (tmp_path / attempt).as_uri()
        args = ["--input", csv_path, "--lake", lake, "--import-id", "same", "--max-bad-share", "0.5"]
        assert import_purchases.run(spark, import_purchases.parse_args(args))["status"] == "success"
        outputs.append(
            sorted(
                pq.read_table(tmp_path / attempt / "raw" / "purchases" / "import=same").to_pylist(),
                key=lambda row: tuple(str(v) for v in row.values()),
            )
        )
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 6
