"""The storefront's state: RDS PostgreSQL (Multi-AZ) behind RDS Proxy, and two ElastiCache replication groups.

Logins (created by the migration Job, `python -m serving.migrate --logins`, as the schema owner):
* `bfp_owner`: the master user, owner of the schema; its password is the one secret (Secrets Manager,
  rotated every ROTATION_DAYS); only the migration Job reads it.
* `storefront` (member of storefront_app: data only) through RDS Proxy, IAM end to end: a pod signs a
  15-minute token with its service-account role, the proxy signs its own to PostgreSQL. No password exists.
* `bfp_extract` (member of pipeline_extract) from MWAA straight to the instance (the extract's snapshot needs
  the primary, not a pooled session), IAM token as well.

ElastiCache, Redis OSS 7.1, TLS and at-rest encryption, IAM authentication (user `bfp-storefront`; the
required `default` user is switched off): the state group (carts, rate limits) never evicts (`noeviction`)
and has a replica in the other AZ with automatic failover; the cache group evicts (`allkeys-lru`). Each is
sized on its own by the plan; more than one shard means cluster mode.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from bfp_infra import keys
from bfp_infra.checks import skip
from bfp_infra.sizes import Redis, Size

DATABASE_NAME = "bfp"
OWNER = "bfp_owner"
STOREFRONT_LOGIN = "storefront"
EXTRACT_LOGIN = "bfp_extract"
REDIS_USER = "bfp-storefront"  # IAM authentication: the user id and the user name must be the same
ROTATION_DAYS = 30
# PostgreSQL 15, as the local clusters (scripts/services.sh): the tests run the engine that is deployed
POSTGRES = rds.PostgresEngineVersion.of("15.18", "15")  # the minor the local clusters run too
REDIS_VERSION = "7.1"


class OltpStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        size: Size,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        pipeline_sg: ec2.ISecurityGroup,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = key = keys.data_key(self, "Oltp", "bfp: PostgreSQL storage, its owner's secret, ElastiCache")
        # one security group per role; the storefront's nodes are admitted by the storefront stack
        self.database_sg = database_sg = ec2.SecurityGroup(
            self, "DatabaseSg", vpc=vpc, description="bfp: RDS PostgreSQL", allow_all_outbound=False
        )
        self.proxy_sg = proxy_sg = ec2.SecurityGroup(
            self, "ProxySg", vpc=vpc, description="bfp: RDS Proxy, the storefront way into PostgreSQL"
        )
        self.redis_sg = redis_sg = ec2.SecurityGroup(
            self, "RedisSg", vpc=vpc, description="bfp: ElastiCache, state and cache", allow_all_outbound=False
        )
        database_sg.add_ingress_rule(proxy_sg, ec2.Port.tcp(5432), "RDS Proxy to PostgreSQL")
        database_sg.add_ingress_rule(pipeline_sg, ec2.Port.tcp(5432), "the extract (bfp_extract, IAM token)")
        engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",  # statements slower than 1 s reach the log
                "log_lock_waits": "1",
                "shared_preload_libraries": "pg_stat_statements",
            },
        )
        self.database = rds.DatabaseInstance(
            self,
            "Postgres",
            engine=engine,
            instance_type=ec2.InstanceType(size.database.instance_class.removeprefix("db.")),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[database_sg],
            multi_az=True,
            database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(OWNER, encryption_key=key),
            iam_authentication=True,
            allocated_storage=size.database.storage_gib,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            storage_encryption_key=key,
            parameter_group=parameters,
            backup_retention=Duration.days(14),
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=["postgresql", "upgrade"],
            cloudwatch_logs_retention=logs.RetentionDays.ONE_YEAR,
            monitoring_interval=Duration.seconds(60),
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        self.owner_secret = self.database.secret
        self.database.add_rotation_single_user(automatically_after=Duration.days(ROTATION_DAYS))

        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_instance(self.database),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[proxy_sg],
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            iam_auth=True,
            require_tls=True,
            max_connections_percent=size.database.proxy_max_connections_percent,
            # a checkout waits this long for a server connection before the pool's own 503
            borrow_timeout=Duration.seconds(5),
            idle_client_timeout=Duration.minutes(30),
        )

        group = elasticache.CfnSubnetGroup(
            self,
            "RedisSubnets",
            description="bfp: ElastiCache in the data subnets",
            subnet_ids=vpc.select_subnets(subnet_group_name=subnets.subnet_group_name).subnet_ids,
        )
        default_user = elasticache.CfnUser(
            self,
            "RedisDefaultUser",
            engine="redis",
            user_id="bfp-default-off",
            user_name="default",
            access_string="off -@all",
            authentication_mode={"Type": "no-password-required"},
        )
        storefront_user = elasticache.CfnUser(
            self,
            "RedisStorefrontUser",
            engine="redis",
            user_id=REDIS_USER,
            user_name=REDIS_USER,
            # every command the storefront runs (reads, hashes, counters, Lua); not CONFIG, KEYS, FLUSH*, DEBUG
            access_string="on ~* +@all -@dangerous",
            authentication_mode={"Type": "iam"},
        )
        users = elasticache.CfnUserGroup(
            self,
            "RedisUsers",
            engine="redis",
            user_group_id="bfp-storefront",
            user_ids=[default_user.user_id, storefront_user.user_id],
        )
        users.add_resource_dependency(default_user)
        users.add_resource_dependency(storefront_user)
        self.state_redis = self._redis("State", size.state_redis, group, users, key, redis_sg, snapshots=1)
        self.cache_redis = self._redis("Cache", size.cache_redis, group, users, key, redis_sg, snapshots=0)

    def _redis(
        self,
        role: str,
        figures: Redis,
        subnets: elasticache.CfnSubnetGroup,
        users: elasticache.CfnUserGroup,
        key: kms.IKey,
        sg: ec2.ISecurityGroup,
        snapshots: int,
    ) -> elasticache.CfnReplicationGroup:
        clustered = figures.shards > 1
        parameters = elasticache.CfnParameterGroup(
            self,
            f"{role}RedisParameters",
            cache_parameter_group_family="redis7",
            description=f"bfp {role.lower()}: maxmemory-policy {figures.maxmemory_policy}",
            properties={"maxmemory-policy": figures.maxmemory_policy, "cluster-enabled": "yes" if clustered else "no"},
        )
        slow_log = logs.LogGroup(
            self,
            f"{role}RedisSlowLog",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        redis = elasticache.CfnReplicationGroup(
            self,
            f"{role}Redis",
            replication_group_id=f"bfp-{role.lower()}",
            replication_group_description=f"bfp {role.lower()}: {figures.maxmemory_policy}",
            engine="redis",
            engine_version=REDIS_VERSION,
            cache_node_type=figures.node_type,
            cluster_mode="enabled" if clustered else "disabled",
            num_node_groups=figures.shards,
            replicas_per_node_group=figures.replicas_per_shard,
            automatic_failover_enabled=figures.replicas_per_shard > 0,
            multi_az_enabled=figures.replicas_per_shard > 0,
            cache_parameter_group_name=parameters.ref,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[sg.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=key.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[users.user_group_id],
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=snapshots,
            log_delivery_configurations=[
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=slow_log.log_group_name
                        )
                    ),
                )
            ],
        )
        redis.add_resource_dependency(users)
        if snapshots == 0:
            skip(redis, ("CKV_AWS_134", "the cache role holds only copies of PostgreSQL rows: nothing to restore"))
        return redis
