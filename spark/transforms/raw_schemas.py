"""Spark schemas of the raw lake tables this deployable reads, made from their contract (contracts/raw_tables.py,
which the extract writes them by)."""

from __future__ import annotations

from pyspark.sql import types as T

from contracts import raw_tables as contract

# Hive's type names (the contract's) -> Spark's; Spark's timestamps are UTC instants as the extract's are.
SPARK_TYPES = {
    "bigint": T.LongType(),
    "int": T.IntegerType(),
    "smallint": T.ShortType(),
    "string": T.StringType(),
    contract.MONEY: T.DecimalType(12, 2),
    "timestamp": T.TimestampType(),
    "date": T.DateType(),
}


def spark_schema(columns: tuple[tuple[str, str], ...]) -> T.StructType:
    return T.StructType([T.StructField(name, SPARK_TYPES[kind]) for name, kind in columns])


ORDERS = spark_schema(contract.ORDERS)
ORDER_ITEMS = spark_schema(contract.ORDER_ITEMS)
# What jobs/import_purchases.py writes to raw/purchases/import=<id>/ (transforms.purchases.RAW_COLUMNS).
PURCHASES = spark_schema(contract.PURCHASES)
