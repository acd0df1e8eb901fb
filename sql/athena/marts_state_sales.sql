-- One row per year and state.
CREATE EXTERNAL TABLE IF NOT EXISTS marts.state_sales (
  state string,
  orders bigint,
  quantity bigint,
  revenue decimal(16,2),
  unique_customers bigint
)
PARTITIONED BY (year int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/state_sales/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');
