"""The data contracts every deployable ships, declared once: the raw lake tables' and curated.order_lines' columns
and types, the lake's folders, the purchases file's header. pipeline/ (the extract's pyarrow schemas, the gate's
suites), the Spark jobs (their read and write schemas, through the --py-files archive), the Athena DDL of the curated
table (rendered by scripts/render_ddl.py) and datagen/ build what they need from these; nothing here imports a
library (only the seasons/ calendar), so each deployable turns them into its own types (pipeline.extract.raw_tables,
transforms.contract_schemas). Shipped like seasons/: in the Spark package (scripts/package_spark.py) and the MWAA
bundle (scripts/mwaa_bundle.py).
"""
