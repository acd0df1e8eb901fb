"""Bytes an analyst's query scans, as Athena bills them, measured on the local catalog for `make bench-query` and
the capacity plan.

DuckDB's JSON profile gives, per Parquet scan, the bytes of the column chunks it read: the compressed sizes the
Parquet footers record for the projected columns of the row groups left after partition and statistics pruning
(tests/scripts/test_bench_probes.py checks that figure against `parquet_metadata`). Athena reads the same
columns of the same partitions of the same files, and bills the bytes read, at least 10 MB per query.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analytics import queries

ATHENA_USD_PER_TB = 5.0  # us-east-1, SQL queries; 1 TB = 10^12 bytes
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024  # each query is billed at least 10 MB


@dataclass(frozen=True)
class Scan:
    bytes_scanned: int
    files_read: int


def billed_bytes(scanned: int) -> int:
    return max(scanned, ATHENA_MINIMUM_BYTES)


def cost_usd(scanned: int) -> float:
    return billed_bytes(scanned) * ATHENA_USD_PER_TB / 1e12


def table_scans(operator: dict) -> Iterator[dict]:
    if operator.get("type") == "TABLE_SCAN":
        yield operator
    for child in operator.get("children", []):
        yield from table_scans(child)


def scan_of(profile: dict) -> Scan:
    """The Parquet scans of one profiled query, summed."""
    scans = [scan for operator in profile["operator"] for scan in table_scans(operator)]
    return Scan(
        bytes_scanned=sum(int(scan.get("bytes_scanned", 0)) for scan in scans),
        files_read=sum(int(scan["extra_info"].get("Total Files Read", 0)) for scan in scans),
    )


class MeteredAnalyst(queries.Analyst):
    """An Analyst that records the scan of every query it runs (`scans`, in order)."""

    def __init__(self, catalog_path: str | None = None):
        super().__init__(catalog_path)
        self.scans: list[Scan] = []
        self._profile = Path(tempfile.mkdtemp(prefix="bfp-scan-")) / "profile.json"
        self.conn.execute("SET enable_profiling = 'json'")
        self.conn.execute(f"SET profiling_output = '{self._profile}'")

    def run_sql(self, sql: str, dialect: str = queries.SOURCE_DIALECT, values: list | None = None) -> queries.Result:
        result = super().run_sql(sql, dialect, values)
        self.scans.append(scan_of(json.loads(self._profile.read_text())))
        return result

    def close(self) -> None:
        super().close()
        self._profile.unlink(missing_ok=True)
        self._profile.parent.rmdir()
