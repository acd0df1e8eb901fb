"""CloudWatch alarms, each to the alerts topic: the pipeline's freshness and DQ gate (the metrics the tasks put,
pipeline.metrics), the storefront's 5xx share and latency at the load balancer, RDS CPU and connections, and
the state Redis's memory (it never evicts: full means failed writes of carts)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from constructs import Construct

from bfp_infra import contract
from bfp_infra.sizes import Size

SERVER_ERROR_SHARE = 0.01  # of requests answered 5xx in 5 minutes
LATENCY_P99_SECONDS = 1.0
RDS_CPU_PERCENT = 80
CONNECTIONS_SHARE = 0.8
STATE_MEMORY_PERCENT = 75  # the plan sizes nodes to 75% of their memory


class AlarmsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        size: Size,
        topic: sns.ITopic,
        freshness_seconds: int,
        window_minutes: int,
        database: rds.DatabaseInstance,
        state_redis: elasticache.CfnReplicationGroup,
        load_balancer: elbv2.ApplicationLoadBalancer,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        notify = actions.SnsAction(topic)
        namespace = contract.pipeline_metric_namespace()

        def alarm(name: str, description: str, **props) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(self, name, alarm_name=f"bfp-{name}", alarm_description=description, **props)
            created.add_alarm_action(notify)
            created.add_ok_action(notify)
            return created

        def pipeline(metric: str, statistic: str, period: Duration) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace=namespace, metric_name=metric, statistic=statistic, period=period)

        hour = Duration.minutes(max(60, window_minutes))
        alarm(
            "pipeline-stale",
            f"The newest published window is older than {freshness_seconds} s: see docs/runbook.md, the lake is stale",
            metric=pipeline("PublishedWindowAgeSeconds", "Maximum", hour),
            threshold=freshness_seconds,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "pipeline-silent",
            "Nothing published for 3 hours: is MWAA up, the DAG unpaused, a window quarantined? (docs/runbook.md)",
            metric=pipeline("WindowsPublished", "Sum", hour),
            threshold=1,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm(
            "dq-gate-failed",
            "A DQ gate failed and quarantined windows: see docs/runbook.md, a window is quarantined",
            metric=pipeline("DqGateFailures", "Sum", hour),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        five = Duration.minutes(5)
        server_errors = cloudwatch.MathExpression(
            expression="(target5xx + elb5xx) / MAX([requests, 1])",
            using_metrics={
                "target5xx": load_balancer.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five),
                "elb5xx": load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five),
                "requests": load_balancer.metrics.request_count(period=five),
            },
            period=five,
        )
        alarm(
            "storefront-5xx",
            f"More than {SERVER_ERROR_SHARE:.0%} of the shop's responses are 5xx: see docs/runbook.md (storefront)",
            metric=server_errors,
            threshold=SERVER_ERROR_SHARE,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "storefront-latency",
            f"p99 response time above {LATENCY_P99_SECONDS} s for 3 of 5 minutes",
            metric=load_balancer.metrics.target_response_time(statistic="p99", period=Duration.minutes(1)),
            threshold=LATENCY_P99_SECONDS,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "rds-cpu",
            f"PostgreSQL CPU above {RDS_CPU_PERCENT}% for 15 minutes: the plan's next class (docs/capacity.md)",
            metric=database.metric_cpu_utilization(period=five),
            threshold=RDS_CPU_PERCENT,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        alarm(
            "rds-connections",
            f"PostgreSQL connections above {CONNECTIONS_SHARE:.0%} of its {size.database.max_connections}",
            metric=database.metric_database_connections(period=five),
            threshold=int(size.database.max_connections * CONNECTIONS_SHARE),
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        for node in node_ids(
            state_redis.replication_group_id, size.state_redis.shards, size.state_redis.replicas_per_shard
        ):
            alarm(
                f"state-redis-memory-{node}",
                f"State Redis {node} above {STATE_MEMORY_PERCENT}% of its memory: it never evicts, carts would fail",
                metric=cloudwatch.Metric(
                    namespace="AWS/ElastiCache",
                    metric_name="DatabaseMemoryUsagePercentage",
                    dimensions_map={"CacheClusterId": node},
                    statistic="Maximum",
                    period=five,
                ),
                threshold=STATE_MEMORY_PERCENT,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )


def node_ids(group: str, shards: int, replicas: int) -> list[str]:
    """Every node of the group, primaries and replicas (a failover swaps them): ElastiCache names them
    <group>-00N, or <group>-000S-00N in cluster mode."""
    nodes = range(1, replicas + 2)
    if shards == 1:
        return [f"{group}-{node:03d}" for node in nodes]
    return [f"{group}-{shard:04d}-{node:03d}" for shard in range(1, shards + 1) for node in nodes]
