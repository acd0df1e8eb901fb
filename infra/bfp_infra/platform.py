"""The stacks of one size, wired: foundation -> lake, oltp -> pipeline, storefront -> alarms."""

from __future__ import annotations

import os

import aws_cdk as cdk

from bfp_infra import sizes
from bfp_infra.alarms import AlarmsStack
from bfp_infra.checks import CdkHandlers
from bfp_infra.foundation import FoundationStack
from bfp_infra.lake import LakeStack
from bfp_infra.oltp import OltpStack
from bfp_infra.pipeline import FRESHNESS_SECONDS, WINDOW_MINUTES, PipelineStack
from bfp_infra.storefront import StorefrontStack

DEFAULT_REGION = "us-east-1"  # the region the plan's prices are for (docs/capacity.md)
# CDK behaviours this app relies on, set here (not in cdk.json) so that `cdk synth` and the tests' in-process
# synthesis build the same templates
FEATURE_FLAGS = {
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-ec2:restrictDefaultSecurityGroup": True,
}


def app(size_name: str | None = None, outdir: str | None = None) -> cdk.App:
    """The CDK app with this project's feature flags; `size_name` as `-c size=...` would give it."""
    context = dict(FEATURE_FLAGS) | ({"size": size_name} if size_name else {})
    return cdk.App(context=context, outdir=outdir)


def build(app: cdk.App, size_name: str) -> dict[str, cdk.Stack]:
    size = sizes.load(size_name)
    env = cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION") or DEFAULT_REGION,
    )
    foundation = FoundationStack(app, "bfp-foundation", env=env, nat_gateways=2)
    lake = LakeStack(app, "bfp-lake", env=env, size=size, key=foundation.key, access_logs=foundation.access_logs)
    oltp = OltpStack(
        app,
        "bfp-oltp",
        env=env,
        size=size,
        vpc=foundation.vpc,
        subnets=foundation.data_subnets,
        pipeline_sg=foundation.pipeline_sg,
    )
    pipeline = PipelineStack(
        app,
        "bfp-pipeline",
        env=env,
        size=size,
        vpc=foundation.vpc,
        subnets=foundation.private_subnets,
        key=foundation.key,
        lake=lake,
        database=oltp.database,
        pipeline_sg=foundation.pipeline_sg,
    )
    storefront = StorefrontStack(
        app,
        "bfp-storefront",
        env=env,
        size=size,
        vpc=foundation.vpc,
        private=foundation.private_subnets,
        access_logs=foundation.access_logs,
        oltp=oltp,
    )
    alarms = AlarmsStack(
        app,
        "bfp-alarms",
        env=env,
        size=size,
        topic=pipeline.alerts,
        freshness_seconds=FRESHNESS_SECONDS,
        window_minutes=WINDOW_MINUTES,
        database=oltp.database,
        state_redis=oltp.state_redis,
        load_balancer=storefront.load_balancer,
    )
    stacks = {s.stack_name: s for s in (foundation, lake, oltp, pipeline, storefront, alarms)}
    for stack in stacks.values():
        for tag, value in (("project", "bfp"), ("bfp:size", size.name)):
            # RDS Proxy target groups take no tags (CloudFormation rejects them)
            cdk.Tags.of(stack).add(tag, value, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])
        cdk.Aspects.of(stack).add(CdkHandlers())
    return stacks
