"""Stage 4, publication: the partition registry on Athena or DuckDB (table_registry), the register and publish task
steps (register_step, publish_step) and the gate -> register -> publish chain both DAGs that write curated tables
end with (publish_chain)."""
