"""Spark schemas of the tables declared in contracts/: the raw tables this deployable reads
(contracts/raw_tables.py, which the extract writes them by) and the curated table it writes
(contracts/lake_tables.py, which the Athena DDL is rendered from)."""

from __future__ import annotations

import re

from pyspark.sql import types as T

from contracts import lake_tables
from contracts import raw_tables as raw

# Hive's type names (the contracts') -> Spark's; Spark's timestamps are UTC instants as the extract's are.
SPARK_TYPES = {
    "bigint": T.LongType(),
    "int": T.IntegerType(),
    "smallint": T.ShortType(),
    "string": T.StringType(),
    "timestamp": T.TimestampType(),
    "date": T.DateType(),
    "boolean": T.BooleanType(),
}
DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def spark_type(hive_type: str) -> T.DataType:
    if decimal := DECIMAL.fullmatch(hive_type):
        return T.DecimalType(int(decimal.group(1)), int(decimal.group(2)))
    return SPARK_TYPES[hive_type]


def spark_schema(*column_groups: tuple[tuple[str, str], ...]) -> T.StructType:
    return T.StructType([T.StructField(name, spark_type(kind)) for group in column_groups for name, kind in group])


ORDERS = spark_schema(raw.ORDERS)
ORDER_ITEMS = spark_schema(raw.ORDER_ITEMS)
# What jobs/import_purchases.py writes to raw/purchases/import=<id>/ (transforms.purchases.RAW_COLUMNS).
PURCHASES = spark_schema(raw.PURCHASES)
# curated.order_lines as written: its columns, then its partition columns.
CURATED_ORDER_LINES = spark_schema(lake_tables.CURATED_ORDER_LINES, lake_tables.CURATED_ORDER_LINES_PARTITIONS)
