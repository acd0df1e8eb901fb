"""Stage 2, the transform: the Spark refresh submitted locally, to a standalone cluster or to EMR Serverless
(spark_jobs, transform_operator), the task step that reads its summary back (transform_step, refresh_summary)."""
