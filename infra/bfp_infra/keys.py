"""KMS keys and cross-stack reads of what they encrypt.

Each stack that keeps secrets has its own key: a grant through a service (Secrets Manager's `kms:ViaService`)
writes the reader into the key's policy, and a key in an earlier stack naming a role of a later one would
make the two stacks depend on each other. A reader in another stack gets its permissions on its own side
(`read_secret`)."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def data_key(scope: Construct, name: str, description: str) -> kms.Key:
    """A rotating key that CloudWatch Logs, CloudWatch alarms and SNS may use for this account."""
    key = kms.Key(
        scope,
        name,
        alias=f"alias/bfp-{name.lower()}",
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    for service in (f"logs.{Aws.REGION}.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # in a key policy "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
    return key


def read_secret(principal: iam.IPrincipal, secret: secretsmanager.ISecret, key: kms.IKey) -> None:
    """`principal` may read `secret` (and decrypt it through Secrets Manager only), granted on its own side."""
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=[secret.secret_arn]
        )
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}},
        )
    )
