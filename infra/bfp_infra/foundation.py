"""The network every part runs in, and what they share: the platform's KMS key and the access-log bucket.

The VPC has two AZs with three tiers: `public` (the storefront's load balancer and the NAT gateways; their
CIDRs are the ones the storefront's NetworkPolicy admits), `private` (EKS nodes, MWAA, EMR Serverless jobs,
the deploy-time handlers) and `data` (RDS and ElastiCache, no route out). The services the jobs call stay on
the AWS network through endpoints: S3 by a gateway, the rest by interface endpoints; the NAT gateways remain
for what has no endpoint (PyPI for MWAA's requirements, the EKS add-ons' images from public registries).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from bfp_infra import contract, keys
from bfp_infra.checks import skip

VPC_CIDR = "10.20.0.0/16"
# the interface endpoints the tasks, jobs and nodes call (S3 has a gateway endpoint)
INTERFACE_ENDPOINTS = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,  # MWAA's Celery queue
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,  # IRSA's AssumeRoleWithWebIdentity
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Athena": ec2.InterfaceVpcEndpointAwsService.ATHENA,
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "EmrServerless": ec2.InterfaceVpcEndpointAwsService.EMR_SERVERLESS,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
}


class FoundationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, nat_gateways: int, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        public_cidrs = contract.load_balancer_cidrs()

        self.key = keys.data_key(self, "Data", "bfp: the lake, code, results, flow logs, alerts and pipeline logs")

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logs can only be delivered to SSE-S3 buckets
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(365), noncurrent_version_expiration=Duration.days(30))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        skip(
            self.access_logs,
            ("CKV_AWS_18", "this is the access-log bucket: logging it into itself would loop"),
            ("CKV_AWS_145", "S3 delivers server access logs only to SSE-S3 buckets, not SSE-KMS"),
        )

        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=len(public_cidrs),
            nat_gateways=nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=22),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            restrict_default_security_group=True,
        )
        allocated = [subnet.ipv4_cidr_block for subnet in self.vpc.public_subnets]
        if allocated != public_cidrs and not any("${Token" in cidr for cidr in allocated):
            raise contract.ContractError(
                f"public subnets {allocated} differ from the NetworkPolicy's load-balancer blocks {public_cidrs}"
            )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        private = ec2.SubnetSelection(subnet_group_name="private")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(name, service=service, subnets=private, private_dns_enabled=True)
        self.private_subnets = private
        self.data_subnets = ec2.SubnetSelection(subnet_group_name="data")

        # MWAA and the EMR jobs; the data tier's groups are the oltp stack's (RDS wires rotation rules into them)
        self.pipeline_sg = ec2.SecurityGroup(
            self,
            "PipelineSg",
            vpc=self.vpc,
            description="bfp: MWAA and the EMR Serverless jobs",
            allow_all_outbound=True,
        )
        # MWAA's workers, schedulers and web server talk to each other inside the group
        self.pipeline_sg.add_ingress_rule(self.pipeline_sg, ec2.Port.all_traffic(), "MWAA components")
        # the private web server from the private tier: the deploy-time call that creates the writers' pool
        # runs there, and so does whatever an engineer reaches the UI through (a VPN or SSM port forward)
        for subnet in self.vpc.select_subnets(subnet_group_name="private").subnets:
            self.pipeline_sg.add_ingress_rule(
                ec2.Peer.ipv4(subnet.ipv4_cidr_block),
                ec2.Port.tcp(443),
                "the Airflow web server, from the private tier",
            )
