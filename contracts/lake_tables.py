"""The curated table analysts query and the Spark jobs write: curated.order_lines, its columns and types in order
and its partition columns (Hive's type names, as contracts/raw_tables.py). transforms.order_lines makes its Spark
schema of them, pipeline.gate.quality gives the curated suite its columns, and sql/athena/curated_order_lines.sql (the
Athena DDL, which the registry and the Glue tables of infra/ read) is rendered from them by
`python -m scripts.render_ddl`. The marts are declared by their DDL alone: Spark computes their frames, and
tests/spark/test_contract.py checks each against it."""

from __future__ import annotations

from seasons.calendar import FLAG_PERIODS

CURATED_ORDER_LINES_TABLE = "curated.order_lines"

CURATED_ORDER_LINES = (
    ("order_ts", "timestamp"),
    ("order_date", "date"),
    ("order_id", "string"),
    ("line_no", "int"),
    ("customer_id", "string"),
    ("asin", "string"),
    ("title", "string"),
    ("category", "string"),
    ("state", "string"),
    ("quantity", "int"),
    ("unit_price", "decimal(12,2)"),
    ("revenue", "decimal(14,2)"),
    ("status", "string"),
    ("source", "string"),
    ("source_ref", "string"),  # purchases: the import id; oltp: the window label of the order's version
    *((f"is_{period}", "boolean") for period in FLAG_PERIODS),  # the calendar's periods of the day
)
# By month of the order date, then by order-id bucket within it (transforms.order_lines.bucket_of_order_id).
CURATED_ORDER_LINES_PARTITIONS = (("year", "int"), ("month", "int"), ("bucket", "int"))

TABLES = {CURATED_ORDER_LINES_TABLE: (CURATED_ORDER_LINES, CURATED_ORDER_LINES_PARTITIONS)}
