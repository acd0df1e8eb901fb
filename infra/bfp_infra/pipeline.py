"""The pipeline on AWS: the alerts topic, EMR Serverless for the Spark transform, and MWAA for the DAGs.

`cdk deploy` uploads the bundle itself (`make mwaa-bundle spark-package` builds it before synthesis): the DAG
tree, MWAA's requirements.txt and startup.sh, and the Spark package. MWAA is pinned to the S3 versions of its
requirements and startup script, so a changed file updates the environment. The startup script turns the
environment's `bfp.*` configuration options (AIRFLOW__BFP__*) into the BFP_* settings the tasks read.
The one-slot writers' pool is created through MWAA's InvokeRestApi by a deploy-time call, not a CLI step.

The execution role is least privilege: MWAA's own needs (its bucket, logs, metrics, Celery queue) and the
tasks' (EMR job runs of this application only and PassRole of its job role, Athena in the bfp workgroup,
Glue on the contract's databases, the lake and results buckets, the alerts topic, the pipeline's metric
namespace, and rds-db:connect as bfp_extract only). The web server is private: reached from the VPC.
"""

from __future__ import annotations

import hashlib

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from bfp_infra import contract
from bfp_infra.lake import LakeStack
from bfp_infra.oltp import DATABASE_NAME, EXTRACT_LOGIN
from bfp_infra.sizes import Size

ENVIRONMENT = "bfp"
SPARK_CODE_PREFIX = "bfp"
EMR_WORKER = {"cpu": "4vCPU", "memory": "16GB"}  # the job's executors: spark.executor.cores 4 (EMR's default)
# the schedule's settings, set explicitly (the pipeline's defaults) because the freshness alarm is derived from them
WINDOW_MINUTES, FRESHNESS_WINDOWS, EXTRACT_LAG_SECONDS = 60, 2, 120
FRESHNESS_SECONDS = FRESHNESS_WINDOWS * WINDOW_MINUTES * 60 + EXTRACT_LAG_SECONDS


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        size: Size,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        key: kms.IKey,
        lake: LakeStack,
        database: rds.DatabaseInstance,
        pipeline_sg: ec2.ISecurityGroup,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        files = contract.bundle_files()
        private = vpc.select_subnets(subnet_group_name=subnets.subnet_group_name).subnet_ids
        self.alerts = sns.Topic(self, "Alerts", topic_name="bfp-alerts", master_key=key, enforce_ssl=True)

        # --- EMR Serverless ------------------------------------------------------------------------------
        emr_logs = logs.LogGroup(
            self,
            "SparkLogs",
            log_group_name="/bfp/emr-serverless",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        executors = (
            [
                emr.CfnApplication.InitialCapacityConfigKeyValuePairProperty(
                    key="Executor",
                    value=emr.CfnApplication.InitialCapacityConfigProperty(
                        worker_count=size.emr.initial_executors,
                        worker_configuration=emr.CfnApplication.WorkerConfigurationProperty(**EMR_WORKER),
                    ),
                )
            ]
            if size.emr.initial_executors
            else []
        )
        self.spark = emr.CfnApplication(
            self,
            "Spark",
            name="bfp-spark",
            release_label=contract.emr_release(),
            type="SPARK",
            architecture="ARM64",
            initial_capacity=[
                emr.CfnApplication.InitialCapacityConfigKeyValuePairProperty(
                    key="Driver",
                    value=emr.CfnApplication.InitialCapacityConfigProperty(
                        worker_count=1,
                        worker_configuration=emr.CfnApplication.WorkerConfigurationProperty(**EMR_WORKER),
                    ),
                ),
                *executors,
            ],
            maximum_capacity=emr.CfnApplication.MaximumAllowedResourcesProperty(
                cpu=f"{size.emr.max_vcpu}vCPU", memory=f"{size.emr.max_memory_gb}GB"
            ),
            auto_start_configuration=emr.CfnApplication.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=emr.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=15
            ),
            network_configuration=emr.CfnApplication.NetworkConfigurationProperty(
                subnet_ids=private, security_group_ids=[pipeline_sg.security_group_id]
            ),
            monitoring_configuration=emr.CfnApplication.MonitoringConfigurationProperty(
                cloud_watch_logging_configuration=emr.CfnApplication.CloudWatchLoggingConfigurationProperty(
                    enabled=True, log_group_name=emr_logs.log_group_name, encryption_key_arn=key.key_arn
                )
            ),
        )
        application_arn = self.spark.attr_arn
        self.job_role = iam.Role(
            self,
            "SparkJobRole",
            description="bfp: the EMR Serverless transform (reads its code, reads and writes the lake)",
            assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}, "ArnLike": {"aws:SourceArn": application_arn}}
            ),
        )
        lake.code.grant_read(self.job_role, f"{SPARK_CODE_PREFIX}/*")
        lake.lake.grant_read_write(self.job_role, "lake/*")
        lake.lake.grant_delete(self.job_role, "lake/*")
        emr_logs.grant_write(self.job_role)

        # --- the bundle ----------------------------------------------------------------------------------
        dags = s3deploy.BucketDeployment(
            self,
            "Dags",
            sources=[s3deploy.Source.asset(str(files["dags"]))],
            destination_bucket=lake.code,
            destination_key_prefix="dags",
            prune=True,
            memory_limit=512,
        )
        root_files = s3deploy.BucketDeployment(
            self,
            "MwaaFiles",
            destination_bucket=lake.code,
            prune=False,
            sources=[
                s3deploy.Source.data("requirements.txt", files["requirements"].read_text()),
                s3deploy.Source.data("startup.sh", files["startup"].read_text()),
            ],
        )
        spark_code = s3deploy.BucketDeployment(
            self,
            "SparkCode",
            sources=[s3deploy.Source.asset(str(contract.emr_upload_dir()))],
            destination_bucket=lake.code,
            destination_key_prefix=SPARK_CODE_PREFIX,
            prune=True,
        )
        versions = {
            name: self._object_version(name, lake, files[kind].read_bytes(), root_files)
            for name, kind in (("requirements.txt", "requirements"), ("startup.sh", "startup"))
        }

        # --- MWAA ----------------------------------------------------------------------------------------
        self.execution_role = iam.Role(
            self,
            "AirflowRole",
            description="bfp: MWAA's execution role (the tasks run with it)",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"), iam.ServicePrincipal("airflow-env.amazonaws.com")
            ),
        )
        self._grant_airflow(lake, key, database)
        lake_uri = lake.lake_uri
        options = {
            # the DAGs run once deployed: no manual unpause
            "core.dags_are_paused_at_creation": "False",
            "bfp.target": "aws",
            "bfp.lake_uri": lake_uri,
            "bfp.emr_application_id": self.spark.attr_application_id,
            "bfp.emr_execution_role_arn": self.job_role.role_arn,
            "bfp.spark_code_uri": f"s3://{lake.code.bucket_name}/{SPARK_CODE_PREFIX}/",
            "bfp.athena_output_uri": lake.results_uri,
            "bfp.athena_workgroup": lake.workgroup.name,
            "bfp.alerts_sns_topic_arn": self.alerts.topic_arn,
            # no password: the extract signs an IAM token as bfp_extract (BFP_DATABASE_IAM_AUTH)
            "bfp.database_url": f"postgresql://{EXTRACT_LOGIN}@{database.db_instance_endpoint_address}:"
            f"{database.db_instance_endpoint_port}/{DATABASE_NAME}?sslmode=require",
            "bfp.database_iam_auth": "on",
            "bfp.window_minutes": str(WINDOW_MINUTES),
            "bfp.freshness_windows": str(FRESHNESS_WINDOWS),
            "bfp.extract_lag_seconds": str(EXTRACT_LAG_SECONDS),
            # the job's shuffles: the plan's partition bound, each sized by AQE from its bytes (128 MiB a partition)
            "bfp.spark_conf": ",".join(
                f"{key}={value}"
                for key, value in {
                    "spark.emr-serverless.driverEnv.BFP_SPARK_SHUFFLE_PARTITIONS": size.emr.shuffle_partitions,
                    "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
                    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "128m",
                }.items()
            ),
        }
        self.airflow = mwaa.CfnEnvironment(
            self,
            "Airflow",
            name=ENVIRONMENT,
            airflow_version=contract.airflow_version(),
            environment_class=size.mwaa.environment_class,
            min_workers=size.mwaa.min_workers,
            max_workers=size.mwaa.max_workers,
            schedulers=size.mwaa.schedulers,
            execution_role_arn=self.execution_role.role_arn,
            source_bucket_arn=lake.code.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path="requirements.txt",
            requirements_s3_object_version=versions["requirements.txt"],
            startup_script_s3_path="startup.sh",
            startup_script_s3_object_version=versions["startup.sh"],
            kms_key=key.key_arn,
            webserver_access_mode="PRIVATE_ONLY",
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=private[:2], security_group_ids=[pipeline_sg.security_group_id]
            ),
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                **{
                    kind: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(enabled=True, log_level="INFO")
                    for kind in ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")
                }
            ),
            airflow_configuration_options=options,
            weekly_maintenance_window_start="SUN:04:00",
        )
        self.airflow.node.add_dependency(dags, spark_code)

        pool, description = contract.lake_writer_pool()
        body = {"name": pool, "slots": 1, "description": description, "include_deferred": True}
        call = {"service": "MWAA", "action": "InvokeRestApi"}
        writer_pool = cr.AwsCustomResource(
            self,
            "WriterPool",
            on_create=cr.AwsSdkCall(
                **call,
                parameters={"Name": ENVIRONMENT, "Path": "/pools", "Method": "POST", "Body": body},
                physical_resource_id=cr.PhysicalResourceId.of(pool),
            ),
            on_update=cr.AwsSdkCall(
                **call,
                parameters={"Name": ENVIRONMENT, "Path": f"/pools/{pool}", "Method": "PATCH", "Body": body},
                physical_resource_id=cr.PhysicalResourceId.of(pool),
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["airflow:InvokeRestApi"],
                        resources=[
                            f"arn:{Aws.PARTITION}:airflow:{Aws.REGION}:{Aws.ACCOUNT_ID}:role/{ENVIRONMENT}/Admin"
                        ],
                    )
                ]
            ),
            # the web server is private: the call leaves from inside the VPC
            vpc=vpc,
            vpc_subnets=subnets,
            install_latest_aws_sdk=False,
            timeout=Duration.minutes(2),
        )
        writer_pool.node.add_dependency(self.airflow)

    def _object_version(self, key: str, lake: LakeStack, content: bytes, after: Construct) -> str:
        """The S3 version id of `key` once the deployment wrote it (looked up again whenever its content changes)."""
        digest = hashlib.sha256(content).hexdigest()[:16]
        lookup = cr.AwsCustomResource(
            self,
            f"Version{key.split('.')[0].title()}",
            on_update=cr.AwsSdkCall(
                service="S3",
                action="HeadObject",
                parameters={"Bucket": lake.code.bucket_name, "Key": key},
                physical_resource_id=cr.PhysicalResourceId.of(f"{key}@{digest}"),
                output_paths=["VersionId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[lake.code.arn_for_objects(key)]
                    ),
                    iam.PolicyStatement(actions=["kms:Decrypt"], resources=[lake.key.key_arn]),
                ]
            ),
            install_latest_aws_sdk=False,
        )
        lookup.node.add_dependency(after)
        return lookup.get_response_field("VersionId")

    def _grant_airflow(self, lake: LakeStack, key: kms.IKey, database: rds.DatabaseInstance) -> None:
        role, region, account, partition = self.execution_role, Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        environment_arn = f"arn:{partition}:airflow:{region}:{account}:environment/{ENVIRONMENT}"
        airflow_logs = f"arn:{partition}:logs:{region}:{account}:log-group:airflow-{ENVIRONMENT}-*"
        statements = [
            # MWAA's own needs (docs: "Amazon MWAA execution role")
            iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[environment_arn]),
            iam.PolicyStatement(actions=["s3:GetAccountPublicAccessBlock"], resources=["*"]),  # account-level check
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[airflow_logs, f"{airflow_logs}:*"],
            ),
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[f"arn:{partition}:sqs:{region}:*:airflow-celery-*"],  # MWAA's queue, in its account
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # no resource-level permission exists
                conditions={
                    "StringEquals": {"cloudwatch:namespace": ["AmazonMWAA", contract.pipeline_metric_namespace()]}
                },
            ),
            # the tasks: EMR Serverless job runs of this application only
            iam.PolicyStatement(
                actions=[
                    "emr-serverless:StartJobRun",
                    "emr-serverless:GetJobRun",
                    "emr-serverless:ListJobRuns",
                    "emr-serverless:CancelJobRun",
                    "emr-serverless:GetApplication",
                    "emr-serverless:GetDashboardForJobRun",
                ],
                resources=[self.spark.attr_arn, f"{self.spark.attr_arn}/jobruns/*"],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[lake.workgroup_arn()],
            ),
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:CreateDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                    "glue:DeletePartition",
                    "glue:BatchDeletePartition",
                ],
                resources=lake.catalog_arns(),
            ),
            iam.PolicyStatement(
                actions=["rds-db:connect"],
                resources=[
                    f"arn:{partition}:rds-db:{region}:{account}:dbuser:{database.instance_resource_id}/{EXTRACT_LOGIN}"
                ],
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        lake.code.grant_read(role)
        lake.lake.grant_read_write(role, "lake/*")
        lake.lake.grant_delete(role, "lake/*")
        lake.results.grant_read_write(role)
        self.alerts.grant_publish(role)
        key.grant_encrypt_decrypt(role)
