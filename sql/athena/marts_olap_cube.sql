-- Per year and month: state x category, each state, each category, and the month (NULL stands for "all").
CREATE EXTERNAL TABLE IF NOT EXISTS marts.olap_cube (
  state string,
  category string,
  orders bigint,
  quantity bigint,
  revenue decimal(16,2),
  unique_customers bigint
)
PARTITIONED BY (year int, month int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/olap_cube/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');
