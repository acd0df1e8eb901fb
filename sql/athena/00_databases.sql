-- The two Glue/Athena databases analysts query. Locally the DuckDB catalog has schemas of the same names.
CREATE DATABASE IF NOT EXISTS curated;
CREATE DATABASE IF NOT EXISTS marts;
