"""Loading the derived catalog into a real PostgreSQL: complete, idempotent, all-or-nothing."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from datagen.load import load_catalog
from datagen.purchases_file import PurchasesFileError
from tests.conftest import ROOT


def table_state(database_url: str) -> dict[str, tuple]:
    """Row count and a content hash of each catalog table."""
    state = {}
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        for table in ("categories", "products", "customers"):
            cur.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")  # noqa: S608
            state[table] = cur.fetchone()
    return state


def write_lines(path: Path, source: Path, first_lines: int, extra: list[str]) -> Path:
    with open(source) as handle:
        lines = [next(handle) for _ in range(first_lines)]
    path.write_text("".join(lines) + "".join(line + "\n" for line in extra))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "datagen", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_every_purchased_product_and_shopper_is_loaded(demo_purchases_csv, database_url, tmp_path):
    result = load_catalog(demo_purchases_csv, database_url, tmp_path)
    with open(demo_purchases_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    asins = {row["ASIN/ISBN (Product Code)"] for row in rows}
    shoppers = {row["Survey ResponseID"] for row in rows}
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE purchased (asin text)")
        cur.executemany("INSERT INTO purchased VALUES (%s)", [(a,) for a in asins])
        cur.execute("SELECT count(*) FROM purchased LEFT JOIN products p USING (asin) WHERE p.id IS NULL")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*), count(DISTINCT category_id), min(price) >= 0, min(stock) >= 0 FROM products")
        assert cur.fetchone() == (len(asins), len({row["Category"] for row in rows}), True, True)
        cur.execute("SELECT count(*) FROM customers WHERE survey_response_id IS NOT NULL")
        assert cur.fetchone()[0] == len(shoppers)
        cur.execute("SELECT count(*) FROM products WHERE stock = 0")
        out_of_stock = cur.fetchone()[0]
    assert result.totals == {"categories": 60, "products": len(asins), "customers": len(shoppers)}
    assert 0.02 * len(asins) < out_of_stock < 0.08 * len(asins)  # about 1 in 20 starts out of stock


def test_reloading_the_same_file_changes_nothing(demo_purchases_csv, database_url, tmp_path):
    load_catalog(demo_purchases_csv, database_url, tmp_path)
    before = table_state(database_url)
    load_catalog(demo_purchases_csv, database_url, tmp_path)
    assert table_state(database_url) == before


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("2019-13-45,1.00,1.0,CA,Toy,B000000000,TOYS,R_abcdefghijklmno", "line 4, field 'Order Date'"),
        ("2019-01-05,-2.00,1.0,CA,Toy,B000000000,TOYS,R_abcdefghijklmno", "line 4, field 'Purchase Price Per Unit'"),
        ("2019-01-05,2.00,0.0,CA,Toy,B000000000,TOYS,R_abcdefghijklmno", "line 4, field 'Quantity'"),
        ("2019-01-05,2.00,1.0,CA,Toy,,TOYS,R_abcdefghijklmno", "line 4, field 'ASIN/ISBN (Product Code)'"),
        ("2019-01-05,2.00,1.0", "line 4: missing columns"),
    ],
)
def test_a_malformed_file_is_rejected_and_leaves_the_tables_unchanged(
    demo_purchases_csv, database_url, tmp_path, bad_line, message
):
    load_catalog(demo_purchases_csv, database_url, tmp_path)
    before = table_state(database_url)
    bad = write_lines(
        tmp_path / "bad.csv", demo_purchases_csv, 3, [bad_line, "2019-01-06,3.00,1.0,NY,New,B0NEWNEWNE,TOYS,R_x"]
    )
    with pytest.raises(PurchasesFileError, match=re.escape(message)):
        load_catalog(bad, database_url, tmp_path / "quarantine")
    assert table_state(database_url) == before


def test_bad_lines_go_to_quarantine_with_their_reason(demo_purchases_csv, database_url, tmp_path):
    bad = write_lines(
        tmp_path / "bad.csv", demo_purchases_csv, 3, ["2019-01-05,-2.00,1.0,CA,Toy,B000000000,TOYS,R_abcdefghijklmno"]
    )
    result = load_catalog(bad, database_url, tmp_path / "quarantine", max_bad_lines=1)
    assert (result.checked.lines_read, result.checked.lines_valid, result.checked.problems) == (3, 2, 1)
    with open(result.checked.quarantine_file, newline="") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert rejected["line"] == "4"
    assert rejected["field"] == "Purchase Price Per Unit"
    assert rejected["reason"] == 'must be a number >= 0, got "-2.00"'
    assert rejected["Purchase Price Per Unit"] == "-2.00"  # the raw line is kept: nothing is lost
    assert result.totals["products"] == 2


def test_cli_rejects_a_wrong_header_with_a_nonzero_exit(database_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Order Date,Price,Quantity\n2019-01-05,2.00,1.0\n")
    before = table_state(database_url)
    done = run_cli("load", "--purchases", str(bad), "--database-url", database_url, "--quiet")
    assert done.returncode == 1
    assert "line 1 (header), column 2: expected 'Purchase Price Per Unit', found 'Price'" in done.stderr
    assert table_state(database_url) == before


def test_cli_rejects_an_unknown_scale():
    done = run_cli("generate", "--scale", "huge")
    assert done.returncode == 2
    assert "invalid choice: 'huge'" in done.stderr


def test_cli_generate_then_load_prints_the_counts(database_url, tmp_path):
    out = tmp_path / "p.csv"
    generated = run_cli("generate", "--scale", "demo", "--out", str(out), "--quiet")
    assert generated.returncode == 0, generated.stderr
    loaded = run_cli("load", "--purchases", str(out), "--database-url", database_url, "--quarantine-dir", str(tmp_path))
    assert loaded.returncode == 0, loaded.stderr
    assert "database now holds 60 categories, 43,663 products" in loaded.stdout


def test_cli_simulates_order_activity(demo_purchases_csv, database_url, tmp_path):
    load_catalog(demo_purchases_csv, database_url, tmp_path)
    done = run_cli(
        "simulate",
        "--database-url",
        database_url,
        "--orders",
        "20",
        "--bursts",
        "2",
        "--burst-size",
        "5",
        "--advance",
        "10",
        "--bulk",
        "30",
        "--hold-open-seconds",
        "0.2",
    )
    assert done.returncode == 0, done.stderr
    assert "placed 30 orders (2 burst(s) of 5), advanced 10, bulk-inserted 30 one-line orders" in done.stdout
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'pending'), count(DISTINCT updated_at) FROM orders"
        )
        orders, moved, distinct_stamps = cur.fetchone()
        cur.execute(
            "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)"
        )
        without_lines = cur.fetchone()[0]
    assert orders == 30 + 1 + 30  # placed, the late commit, bulk
    assert moved == 10  # one lifecycle step each (paid, or cancelled)
    assert distinct_stamps < orders  # bursts and the bulk statement share timestamps
    assert without_lines == 0


def test_cli_simulate_needs_a_catalog(database_url):
    done = run_cli("simulate", "--database-url", database_url, "--orders", "1")
    assert done.returncode == 1
    assert "load a catalog first" in done.stderr
