"""Stage 1, the extract: a window's safety against open transactions (watermark), the engine that copies a window
of changed orders from PostgreSQL to the lake (window_extract, its SQL in sql/), the task step that records and logs
it (extract_step), the source's connection (source_db) and the raw tables' pyarrow schemas (raw_tables)."""
