"""The data contracts every deployable ships, declared once: the raw lake tables' columns and types, the lake's
folders, the purchases file's header. pipeline/ (the extract's pyarrow schemas, the gate), the Spark jobs (their
read schemas, through the --py-files archive) and datagen/ build what they need from these; nothing here imports
a library, so each deployable turns them into its own types (pipeline.raw_tables, transforms.raw_schemas).
Shipped like seasons/: in the Spark package (scripts/package_spark.py) and the MWAA bundle (scripts/mwaa_bundle.py).
"""
