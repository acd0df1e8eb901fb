"""Checkov suppressions, each with its reason, written into the resource's own template metadata (where
checkov reads them and a reviewer sees them beside the resource)."""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

# checks that do not apply to the deploy-time handlers CDK itself creates (custom resources, bucket
# deployments, the kubectl provider): CloudFormation invokes them once per change of their resource
CDK_HANDLER_CHECKS = (
    ("CKV_AWS_115", "a CDK deploy-time handler: CloudFormation calls it once per change, no concurrency to cap"),
    ("CKV_AWS_116", "a CDK deploy-time handler: a failed call fails the deployment, which is its dead-letter"),
    ("CKV_AWS_117", "a CDK deploy-time handler calling AWS APIs only (those that must reach the VPC run in it)"),
    ("CKV_AWS_173", "a CDK deploy-time handler: its environment holds no secret"),
)


# IAM of CDK's own machinery, matched by construct path: the check, and why it does not apply
CDK_MACHINERY = {
    "/LogRetention": (
        "CKV_AWS_111",
        "CDK's log-retention handler: it sets the retention of the log groups RDS creates "
        "at deploy time, whose names exist only then",
    ),
    "/Resource/CreationRole/": (
        "CKV_AWS_109",
        "CDK's EKS cluster handler role: it creates the cluster and passes "
        "the cluster role, scoped by CDK to this cluster",
    ),
    "AlbController/alb-sa/": (
        "CKV_AWS_111",
        "the AWS Load Balancer Controller's published policy: it creates the "
        "load-balancer resources it manages, whose ARNs do not exist beforehand",
    ),
    "/Custom::AWSCDKOpenIdConnectProviderCustomResourceProvider/": (
        "CKV_AWS_109",
        "CDK's OIDC-provider handler: it registers the cluster's identity provider for IRSA",
    ),
}


def _resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return child


def skip(construct: IConstruct, *checks: tuple[str, str]) -> None:
    """Suppresses checkov `checks` ((id, reason) pairs) on the construct's resource."""
    if not checks:
        return
    resource = _resource(construct)
    existing = resource.get_metadata("checkov") or {"skip": []}
    known = {entry["id"] for entry in existing["skip"]}
    existing["skip"] += [{"id": check, "comment": reason} for check, reason in checks if check not in known]
    resource.add_metadata("checkov", existing)


@jsii.implements(IAspect)
class CdkHandlers:
    """Marks every Lambda function CDK generates for its own deploy-time work (never the platform's code: the
    platform deploys none), and the IAM of CDK's machinery listed in CDK_MACHINERY."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        if node.cfn_resource_type == "AWS::Lambda::Function":
            skip(node, *CDK_HANDLER_CHECKS)
        if node.cfn_resource_type in ("AWS::IAM::Policy", "AWS::IAM::Role"):
            path = "/" + node.node.path + "/"
            skip(node, *[check for fragment, check in CDK_MACHINERY.items() if fragment in path])
