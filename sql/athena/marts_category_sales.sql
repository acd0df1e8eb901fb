-- One row per year and category.
CREATE EXTERNAL TABLE IF NOT EXISTS marts.category_sales (
  category string,
  orders bigint,
  quantity bigint,
  revenue decimal(16,2),
  unique_customers bigint
)
PARTITIONED BY (year int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/category_sales/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');
