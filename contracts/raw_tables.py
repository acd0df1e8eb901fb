"""The raw lake tables the extract writes and the transform reads: each column's name and type, in order.

Types are Hive's names (what Athena and Glue spell): bigint, int, smallint, string, decimal(12,2), timestamp
(UTC, microseconds), date. pipeline.extract.raw_tables makes the pyarrow schemas of them,
transforms.contract_schemas the Spark ones."""

from __future__ import annotations

MONEY = "decimal(12,2)"

# The order as of one change; timestamps travel through COPY as epoch microseconds and are cast on read.
ORDERS = (
    ("id", "bigint"),
    ("customer_id", "bigint"),
    ("status", "string"),
    ("currency", "string"),
    ("item_count", "int"),
    ("subtotal", MONEY),
    ("shipping_fee", MONEY),
    ("total", MONEY),
    ("shipping_name", "string"),
    ("shipping_address", "string"),
    ("shipping_city", "string"),
    ("shipping_state", "string"),
    ("shipping_zip", "string"),
    ("created_at", "timestamp"),
    ("updated_at", "timestamp"),
    ("deleted_at", "timestamp"),
)

# An order version's lines: order_updated_at says which version they belong to.
ORDER_ITEMS = (
    ("order_id", "bigint"),
    ("order_updated_at", "timestamp"),
    ("line_no", "smallint"),
    ("product_id", "bigint"),
    ("asin", "string"),
    ("title", "string"),
    ("category_code", "string"),
    ("unit_price", MONEY),
    ("quantity", "int"),
    ("line_total", MONEY),
)

# What the purchases import writes to raw/purchases/import=<id>/: the file's typed columns (contracts.purchases)
# and the line's number among identical lines of the file.
PURCHASES = (
    ("order_date", "date"),
    ("unit_price", MONEY),
    ("quantity", "int"),
    ("state", "string"),
    ("title", "string"),
    ("asin", "string"),
    ("category", "string"),
    ("survey_response_id", "string"),
    ("occurrence", "int"),
)

RAW_TABLES = {"orders": ORDERS, "order_items": ORDER_ITEMS}
