"""Analyst tooling over the published lake: canonical queries in Athena (Trino) SQL run locally on the DuckDB
catalog (translated with sqlglot), and the Black Friday report."""
