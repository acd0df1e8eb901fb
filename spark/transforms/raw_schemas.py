"""Spark schemas of the raw lake tables this deployable reads. The extract (dags/pipeline/raw_tables.py)
writes them; tests/spark/test_contract.py fails if the two definitions drift apart."""

from __future__ import annotations

from pyspark.sql import types as T

MONEY = T.DecimalType(12, 2)

ORDERS = T.StructType(
    [
        T.StructField("id", T.LongType()),
        T.StructField("customer_id", T.LongType()),
        T.StructField("status", T.StringType()),
        T.StructField("currency", T.StringType()),
        T.StructField("item_count", T.IntegerType()),
        T.StructField("subtotal", MONEY),
        T.StructField("shipping_fee", MONEY),
        T.StructField("total", MONEY),
        T.StructField("shipping_name", T.StringType()),
        T.StructField("shipping_address", T.StringType()),
        T.StructField("shipping_city", T.StringType()),
        T.StructField("shipping_state", T.StringType()),
        T.StructField("shipping_zip", T.StringType()),
        T.StructField("created_at", T.TimestampType()),
        T.StructField("updated_at", T.TimestampType()),
        T.StructField("deleted_at", T.TimestampType()),
    ]
)

ORDER_ITEMS = T.StructType(
    [
        T.StructField("order_id", T.LongType()),
        T.StructField("order_updated_at", T.TimestampType()),
        T.StructField("line_no", T.ShortType()),
        T.StructField("product_id", T.LongType()),
        T.StructField("asin", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("category_code", T.StringType()),
        T.StructField("unit_price", MONEY),
        T.StructField("quantity", T.IntegerType()),
        T.StructField("line_total", MONEY),
    ]
)

# What jobs/import_purchases.py writes to raw/purchases/import=<id>/ (transforms.purchases.RAW_COLUMNS).
PURCHASES = T.StructType(
    [
        T.StructField("order_date", T.DateType()),
        T.StructField("unit_price", MONEY),
        T.StructField("quantity", T.IntegerType()),
        T.StructField("state", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("asin", T.StringType()),
        T.StructField("category", T.StringType()),
        T.StructField("survey_response_id", T.StringType()),
        T.StructField("occurrence", T.IntegerType()),
    ]
)
