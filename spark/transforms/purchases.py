"""The historical purchases file (Open e-commerce 1.0 schema): read as text with an explicit schema, typed,
and split into valid lines and quarantined lines with the reason."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contracts import raw_tables
from contracts.purchases import FILE_COLUMNS

CORRUPT = "_corrupt_record"
# Every field is read as text: types are applied here, so a bad value becomes a reason, not a lost line.
TEXT_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in FILE_COLUMNS] + [T.StructField(CORRUPT, T.StringType())]
)
# What raw/purchases holds (contracts/raw_tables.py): the typed columns, and the line's number among identical
# lines of the file.
RAW_COLUMNS = tuple(name for name, _ in raw_tables.PURCHASES)
TYPED_COLUMNS = RAW_COLUMNS[:-1]
# The raw files' row order: a product's lines side by side (its title and codes compress to runs), identical
# lines adjacent, and products by title within a category: neighbouring titles share words, which zstd finds
# (smaller in all than ordering by ASIN, measured at full scale).
RAW_ORDER = ("category", "title", "asin", "order_date", "unit_price", "quantity", "state", "survey_response_id")


def read_purchases_text(spark, path: str) -> DataFrame:
    """The CSV's fields as text; a line with the wrong number of fields keeps its raw text in _corrupt_record."""
    return (
        spark.read.option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("enforceSchema", False)
        .schema(TEXT_SCHEMA)
        .csv(path)
    )


def _blank_to_null(column: str) -> Column:
    return F.when(F.trim(F.col(column)) == "", None).otherwise(F.trim(F.col(column)))


def _strict_date(column: str) -> Column:
    """YYYY-MM-DD as a date, else null. (A format check and a cast: cheaper than parsing with a pattern.)"""
    return F.when(F.col(f"`{column}`").rlike(r"^\d{4}-\d{2}-\d{2}$"), F.col(f"`{column}`").try_cast(T.DateType()))


UPPER_CODE_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def _category_code(column: str) -> Column:
    """The category as a code: upper case, each run of other characters than letters and digits one '_'
    ('Toys & Games' -> TOYS_GAMES). Codes already in that form (nearly every line) skip the regular expression,
    which was the costliest step of typing the file."""
    value = _blank_to_null(column)
    is_code = (F.translate(value, UPPER_CODE_CHARACTERS, "") == "") & ~value.contains("__")
    return F.when(is_code, value).otherwise(F.upper(F.regexp_replace(value, "[^A-Za-z0-9]+", "_")))


def type_purchases(text: DataFrame) -> DataFrame:
    """Typed columns plus `reason`: null for a usable line, else what is wrong with it (first problem)."""
    typed = text.select(
        F.col(CORRUPT),
        F.struct(*[F.col(f"`{name}`") for name in FILE_COLUMNS]).alias("raw"),
        _strict_date("Order Date").alias("order_date"),
        F.col("`Purchase Price Per Unit`").try_cast(T.DecimalType(12, 2)).alias("unit_price"),
        F.col("`Quantity`").try_cast(T.DoubleType()).alias("quantity_value"),
        _blank_to_null("Shipping Address State").alias("state"),
        _blank_to_null("Title").alias("title"),
        _blank_to_null("ASIN/ISBN (Product Code)").alias("asin"),
        _category_code("Category").alias("category"),
        _blank_to_null("Survey ResponseID").alias("survey_response_id"),
    )
    reason = (
        F.when(F.col(CORRUPT).isNotNull(), F.lit("malformed line: wrong number of fields or broken quoting"))
        .when(
            F.col("order_date").isNull(),
            F.concat(
                F.lit("Order Date must be YYYY-MM-DD, got "), F.coalesce(F.col("raw.`Order Date`"), F.lit("nothing"))
            ),
        )
        .when(
            F.col("unit_price").isNull() | (F.col("unit_price") < 0),
            F.concat(
                F.lit("Purchase Price Per Unit must be a number >= 0, got "),
                F.coalesce(F.col("raw.`Purchase Price Per Unit`"), F.lit("nothing")),
            ),
        )
        .when(
            F.col("quantity_value").isNull()
            | (F.col("quantity_value") <= 0)
            | (F.col("quantity_value") != F.floor("quantity_value")),
            F.concat(
                F.lit("Quantity must be a whole number > 0, got "), F.coalesce(F.col("raw.Quantity"), F.lit("nothing"))
            ),
        )
        .when(
            ~F.coalesce(F.col("asin").rlike("^[A-Z0-9]{10}$"), F.lit(False)),
            F.concat(
                F.lit("ASIN/ISBN (Product Code) must be 10 capital letters or digits, got "),
                F.coalesce(F.col("asin"), F.lit("nothing")),
            ),
        )
        .when(
            F.col("state").isNotNull() & ~F.col("state").rlike("^[A-Z]{2}$"),
            F.concat(F.lit("Shipping Address State must be a 2-letter code, got "), F.col("state")),
        )
        .when(F.col("survey_response_id").isNull(), F.lit("Survey ResponseID must not be empty"))
    )
    return typed.withColumn("reason", reason).withColumns(
        {
            "quantity": F.when(F.col("reason").isNull(), F.col("quantity_value").cast(T.IntegerType())),
            "title": F.coalesce(F.col("title"), F.concat(F.lit("Product "), F.col("asin"))),
            "category": F.coalesce(F.col("category"), F.lit("UNCATEGORIZED")),
        }
    )


def valid_purchases(typed: DataFrame) -> DataFrame:
    """The usable lines, with the typed columns only."""
    return typed.where(F.col("reason").isNull()).select(*TYPED_COLUMNS)


def quarantined_purchases(typed: DataFrame) -> DataFrame:
    """The unusable lines: reason plus every raw field as it was in the file (nothing is lost)."""
    return typed.where(F.col("reason").isNotNull()).select(
        "reason", *[F.col(f"raw.`{name}`").alias(name) for name in FILE_COLUMNS], F.col(CORRUPT).alias("raw_line")
    )


def raw_layout(valid: DataFrame, files: int) -> DataFrame:
    """The valid lines as the raw files hold them: `files` partitions by ASIN, so each product's lines and its
    title are in one file only (spreading them stored 18% of the titles twice at full scale), rows in RAW_ORDER,
    and `occurrence`, 1..n among identical lines (1 for a line unique in the file): what keeps identical lines
    distinct orders downstream. The same lines give the same rows whatever their order in the file."""
    identical = Window.partitionBy(*RAW_ORDER).orderBy(*RAW_ORDER)
    return valid.repartition(files, "asin").withColumn("occurrence", F.row_number().over(identical))
