"""The lake and what reads it: the lake bucket (s3://<lake>/lake, the pipeline's BFP_LAKE_URI), the code bucket
MWAA and EMR read (its name starts with `airflow-`, as MWAA requires), the Athena results bucket, the Glue
databases and tables generated from the table contract (sql/athena/), and the Athena workgroup.

Run records (_audit/, _runs/, _dq/, _alerts/) expire after RUN_RECORD_DAYS; S3 versioning keeps an
overwritten or deleted object for NONCURRENT_DAYS. The lake's own superseded partition versions (`_v/`) are
swept by the lake_housekeeping DAG once no registration points at them: a lifecycle rule cannot tell the
current version from an old one.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from bfp_infra import contract
from bfp_infra.sizes import Size

LAKE_PREFIX = "lake"
RUN_RECORDS = ("_audit/", "_runs/", "_dq/", "_alerts/")
RUN_RECORD_DAYS = 400  # a season and the comparison with the one before it
NONCURRENT_DAYS = 30
RESULTS_DAYS = 30
WORKGROUP = "bfp"
PARQUET = {
    "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}


def _bucket(scope: Construct, name: str, key: kms.IKey, logs: s3.IBucket, rules: list, **extra) -> s3.Bucket:
    return s3.Bucket(
        scope,
        name,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,  # one data key per bucket and period, not a KMS call per object
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{name.lower()}/",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="kept-copies",
                noncurrent_version_expiration=Duration.days(NONCURRENT_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            ),
            *rules,
        ],
        removal_policy=RemovalPolicy.RETAIN,
        **extra,
    )


class LakeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, size: Size, key: kms.IKey, access_logs: s3.IBucket, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = key
        self.lake = _bucket(
            self,
            "Lake",
            key,
            access_logs,
            [
                s3.LifecycleRule(
                    id=f"run-records-{prefix.strip('_/')}",
                    prefix=f"{LAKE_PREFIX}/{prefix}",
                    expiration=Duration.days(RUN_RECORD_DAYS),
                )
                for prefix in RUN_RECORDS
            ],
        )
        self.code = _bucket(
            self, "Code", key, access_logs, [], bucket_name=f"airflow-bfp-{Aws.ACCOUNT_ID}-{Aws.REGION}"
        )
        self.results = _bucket(
            self,
            "AthenaResults",
            key,
            access_logs,
            [s3.LifecycleRule(id="results", expiration=Duration.days(RESULTS_DAYS))],
        )
        self.lake_uri = f"s3://{self.lake.bucket_name}/{LAKE_PREFIX}"
        self.results_uri = f"s3://{self.results.bucket_name}/athena/"

        self.databases = {}
        for table in contract.tables().values():
            if table.database not in self.databases:
                self.databases[table.database] = glue.CfnDatabase(
                    self,
                    f"Db{table.database.title()}",
                    catalog_id=Aws.ACCOUNT_ID,
                    database_input=glue.CfnDatabase.DatabaseInputProperty(name=table.database),
                )
            glue_table = glue.CfnTable(
                self,
                f"Table{table.database.title()}{table.name.title().replace('_', '')}",
                catalog_id=Aws.ACCOUNT_ID,
                database_name=table.database,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table.name,
                    table_type="EXTERNAL_TABLE",
                    parameters={"EXTERNAL": "TRUE", "classification": "parquet", **dict(table.properties)},
                    partition_keys=[
                        glue.CfnTable.ColumnProperty(name=name, type=contract.glue_type(kind))
                        for name, kind in table.partition_columns
                    ],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=[
                            glue.CfnTable.ColumnProperty(name=name, type=contract.glue_type(kind))
                            for name, kind in table.columns
                        ],
                        location=f"{self.lake_uri}/{table.lake_path}/",
                        input_format=PARQUET["input_format"],
                        output_format=PARQUET["output_format"],
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET["serde"]),
                    ),
                ),
            )
            glue_table.add_resource_dependency(self.databases[table.database])

        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=WORKGROUP,
            description="bfp: the pipeline's registrations and the analysts' queries",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,  # clients cannot override the location or encryption
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=size.athena_bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_uri,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )

    def catalog_arns(self) -> list[str]:
        """The Glue catalog, the contract's databases and their tables: what registration may change."""
        prefix = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        arns = [f"{prefix}:catalog"]
        for database in self.databases:
            arns += [f"{prefix}:database/{database}", f"{prefix}:table/{database}/*"]
        return arns

    def workgroup_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:athena:{Aws.REGION}:{Aws.ACCOUNT_ID}:workgroup/{WORKGROUP}"
