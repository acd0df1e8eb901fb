"""The lake's folders the pipeline and the Spark jobs both name, relative to its root (BFP_LAKE_URI)."""

from __future__ import annotations

CURATED_ORDER_LINES = "curated/order_lines"  # curated.order_lines, by year and month (then state bucket)
RAW_COMPACTED = "raw/compacted"  # <table>/month=YYYY-MM/<file>.parquet + _index.json: compacted raw windows
COMPACTION_INDEX = "_index.json"  # in each compacted month: the windows it holds
