"""The storefront on EKS: the cluster, its nodes and add-ons, the load balancer in front, and the manifests of
docker/k8s/storefront.yaml applied with the image `cdk deploy` builds.

Built here rather than assumed, so that one `cdk deploy` stands the shop up. What the cluster runs besides
the shop, and why:
* the VPC CNI add-on with network policies on: the storefront's NetworkPolicy is enforced, not decorative;
* metrics-server (EKS add-on): the HorizontalPodAutoscaler reads pod CPU from it;
* the AWS Load Balancer Controller (CDK's AlbController, service-account role): it registers the pods in the
  target group this stack owns (a TargetGroupBinding); the load balancer itself is created here, so its
  alarms, WAF and access logs are code too;
* the Cluster Autoscaler (Helm, service-account role scoped to this cluster's node groups): the HPA adds pods,
  the autoscaler adds the nodes they need, up to the plan's maximum.

The pods get AWS access through service-account roles (IRSA): the storefront's may connect to RDS Proxy as
`storefront` and to both ElastiCache groups as `bfp-storefront` (IAM tokens, no passwords) and read its two
keys (session signing, admin token) from Secrets Manager; the migration Job's may read the owner's secret.
"""

from __future__ import annotations

import copy
import hashlib

from aws_cdk import Aws, CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks as eks
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk.lambda_layer_kubectl_v34 import KubectlV34Layer
from constructs import Construct

from bfp_infra import contract, keys
from bfp_infra.checks import skip
from bfp_infra.oltp import DATABASE_NAME, REDIS_USER, STOREFRONT_LOGIN, OltpStack
from bfp_infra.sizes import Size

KUBERNETES = eks.KubernetesVersion.V1_34
CLUSTER_NAME = "bfp-storefront"
PODS_PER_NODE = 3  # pods request 1 vCPU; a 4-vCPU node keeps one for the system pods and daemon sets
CLUSTER_AUTOSCALER = {"chart": "cluster-autoscaler", "version": "9.38.0", "image": "v1.34.0"}
# WAF: a client past this many requests in 5 minutes is blocked at the edge before the shop's own limits
WAF_REQUESTS_PER_5_MINUTES = 6000
APP_PORT, PROBE_PORT = 8000, 9000


class StorefrontStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        size: Size,
        vpc: ec2.IVpc,
        private: ec2.SubnetSelection,
        access_logs: s3.IBucket,
        oltp: OltpStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = keys.data_key(self, "Storefront", "bfp: the cluster's Kubernetes secrets and the shop's two keys")
        certificate_arn = CfnParameter(
            self,
            "CertificateArn",
            type="String",
            allowed_pattern="arn:aws[a-z-]*:acm:.+",
            description="the ACM certificate of the shop's domain (HTTPS on the load balancer)",
        )

        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=CLUSTER_NAME,
            version=KUBERNETES,
            kubectl_layer=KubectlV34Layer(self, "Kubectl"),
            vpc=vpc,
            vpc_subnets=[private],
            endpoint_access=eks.EndpointAccess.PRIVATE,
            place_cluster_handler_in_vpc=True,
            default_capacity=0,
            secrets_encryption_key=key,
            authentication_mode=eks.AuthenticationMode.API,
            cluster_logging=[
                eks.ClusterLoggingTypes.API,
                eks.ClusterLoggingTypes.AUDIT,
                eks.ClusterLoggingTypes.AUTHENTICATOR,
                eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
                eks.ClusterLoggingTypes.SCHEDULER,
            ],
            alb_controller=eks.AlbControllerOptions(version=eks.AlbControllerVersion.V2_9_2),
        )
        nodes = self.cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(size.storefront.node_instance_type)],
            min_size=size.storefront.nodes_min,
            desired_size=size.storefront.nodes_min,
            max_size=size.storefront.nodes_max,
            subnets=private,
            disk_size=30,
        )
        cluster_sg = self.cluster.cluster_security_group
        for name, target, port in (
            ("Proxy", oltp.proxy_sg, 5432),
            ("Database", oltp.database_sg, 5432),
            ("Redis", oltp.redis_sg, 6379),
        ):
            # the nodes (EKS's cluster security group) into the data tier: the pods through the proxy and
            # Redis, the migration Job straight to PostgreSQL as the owner
            ec2.CfnSecurityGroupIngress(
                self,
                f"NodesTo{name}",
                group_id=target.security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                source_security_group_id=cluster_sg.security_group_id,
                description=f"bfp: storefront nodes to {name.lower()}",
            )
        for addon, configuration in (("vpc-cni", '{"enableNetworkPolicy": "true"}'), ("metrics-server", None)):
            eks.CfnAddon(
                self,
                f"Addon{addon.title().replace('-', '')}",
                cluster_name=self.cluster.cluster_name,
                addon_name=addon,
                resolve_conflicts="OVERWRITE",
                configuration_values=configuration,
            )
        self._cluster_autoscaler(nodes)

        # --- the load balancer, in front of the pods ----------------------------------------------------
        alb_sg = ec2.SecurityGroup(self, "LoadBalancerSg", vpc=vpc, description="bfp: the shop load balancer")
        alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "shoppers, HTTPS")
        alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "shoppers, redirected to HTTPS")
        skip(alb_sg, ("CKV_AWS_260", "port 80 on the load balancer only answers a redirect to HTTPS"))
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=alb_sg,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            deletion_protection=True,
        )
        self.load_balancer.log_access_logs(access_logs, "load-balancer")
        ec2.CfnSecurityGroupIngress(
            self,
            "LoadBalancerToPods",
            group_id=cluster_sg.security_group_id,
            ip_protocol="tcp",
            from_port=APP_PORT,
            to_port=PROBE_PORT,
            source_security_group_id=alb_sg.security_group_id,
            description="bfp: the load balancer to the shop's port and its readiness probe",
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Pods",
            vpc=vpc,
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            # the pod's own readiness (process-only: a dependency blip must not empty the target group)
            health_check=elbv2.HealthCheck(
                path="/readyz",
                port=str(PROBE_PORT),
                interval=Duration.seconds(10),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
            deregistration_delay=Duration.seconds(15),  # within the pods' preStop wait
        )
        self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn.value_as_string)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[self.target_group],
        )
        self.load_balancer.add_redirect()  # port 80 answers a redirect to HTTPS, nothing else
        self._firewall()

        # --- the pods' AWS access and the manifests -----------------------------------------------------
        shop_keys = {
            name: secretsmanager.Secret(
                self,
                name.title().replace("_", ""),
                description=f"bfp storefront: {name}",
                encryption_key=key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True
                ),
            )
            for name in ("BFP_SECRET_KEY", "BFP_ADMIN_TOKEN")
        }
        for secret in shop_keys.values():
            skip(secret, ("CKV2_AWS_57", "read once at pod start; a rotation is a rolling restart, see docs/deploy.md"))
        shop_account = self.cluster.add_service_account("StorefrontAccount", name="storefront")
        oltp.proxy.grant_connect(shop_account, STOREFRONT_LOGIN)
        shop_account.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["elasticache:Connect"],
                resources=[self._redis_arn("replicationgroup", group) for group in (oltp.state_redis, oltp.cache_redis)]
                + [self._redis_arn("user", REDIS_USER)],
            )
        )
        for secret in shop_keys.values():
            keys.read_secret(shop_account, secret, key)
        migrate_account = self.cluster.add_service_account("MigrateAccount", name="storefront-migrate")
        keys.read_secret(migrate_account, oltp.owner_secret, oltp.key)

        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(contract.image_context()),
            file="docker/storefront.Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        environment = {
            "BFP_TARGET": "aws",
            "AWS_REGION": Aws.REGION,
            "DATABASE_URL": f"postgresql://{STOREFRONT_LOGIN}@{oltp.proxy.endpoint}:5432/{DATABASE_NAME}?sslmode=require",
            "BFP_DATABASE_IAM_AUTH": "on",
            "REDIS_URL": f"rediss://{REDIS_USER}@{oltp.state_redis.attr_primary_end_point_address}:6379/0",
            "BFP_CACHE_REDIS_URL": f"rediss://{REDIS_USER}@{oltp.cache_redis.attr_primary_end_point_address}:6379/0",
            "BFP_REDIS_IAM_AUTH": "on",
            **{f"{name}_SECRET_ARN": secret.secret_arn for name, secret in shop_keys.items()},
        }
        documents = storefront_documents(image.image_uri, environment, size)
        applied = self.cluster.add_manifest("Storefront", *documents)
        applied.node.add_dependency(nodes)
        binding = self.cluster.add_manifest(
            "TargetGroupBinding",
            {
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "TargetGroupBinding",
                "metadata": {"name": "storefront", "namespace": "default"},
                "spec": {
                    "serviceRef": {"name": "storefront", "port": 80},
                    "targetType": "ip",
                    "targetGroupARN": self.target_group.target_group_arn,
                },
            },
        )
        binding.node.add_dependency(self.cluster.alb_controller, applied)
        migration = migration_job(image.image_uri, oltp, image.asset_hash)
        self.cluster.add_manifest("Migrate", migration).node.add_dependency(migrate_account, nodes)

    def _redis_arn(self, kind: str, name_or_group) -> str:
        name = name_or_group if isinstance(name_or_group, str) else name_or_group.replication_group_id
        return f"arn:{Aws.PARTITION}:elasticache:{Aws.REGION}:{Aws.ACCOUNT_ID}:{kind}:{name}"

    def _cluster_autoscaler(self, nodes: eks.Nodegroup) -> None:
        account = self.cluster.add_service_account(
            "AutoscalerAccount", name="cluster-autoscaler", namespace="kube-system"
        )
        account.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                resources=["*"],  # read-only Describe calls: these actions have no resource-level permissions
            )
        )
        account.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                resources=["*"],
                # only the groups EKS tags as this cluster's nodes
                conditions={"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER_NAME}": "owned"}},
            )
        )
        chart = self.cluster.add_helm_chart(
            "ClusterAutoscaler",
            chart=CLUSTER_AUTOSCALER["chart"],
            version=CLUSTER_AUTOSCALER["version"],
            repository="https://kubernetes.github.io/autoscaler",
            namespace="kube-system",
            release="cluster-autoscaler",
            values={
                "cloudProvider": "aws",
                "awsRegion": Aws.REGION,
                "autoDiscovery": {"clusterName": CLUSTER_NAME},
                "image": {"tag": CLUSTER_AUTOSCALER["image"]},
                "rbac": {"serviceAccount": {"create": False, "name": "cluster-autoscaler"}},
                "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False},
            },
        )
        chart.node.add_dependency(account, nodes)

    def _firewall(self) -> None:
        waf_logs = logs.LogGroup(
            self,
            "FirewallLogs",
            log_group_name="aws-waf-logs-bfp-storefront",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip(
            waf_logs, ("CKV_AWS_158", "WAF delivers to log groups encrypted with the CloudWatch Logs service key only")
        )

        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "Firewall",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("bfp-storefront"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="per-client-rate",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=WAF_REQUESTS_PER_5_MINUTES, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("per-client-rate"),
                ),
                managed("AWSManagedRulesCommonRuleSet", 1),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                managed("AWSManagedRulesAmazonIpReputationList", 3),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "FirewallOnLoadBalancer", resource_arn=self.load_balancer.load_balancer_arn, web_acl_arn=acl.attr_arn
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "FirewallLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{waf_logs.log_group_name}"
            ],
        ).node.add_dependency(waf_logs)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def storefront_documents(image_uri: str, environment: dict[str, str], size: Size) -> list[dict]:
    """docker/k8s/storefront.yaml as deployed: the built image, the service account, the settings as plain
    environment (no Kubernetes Secret: the pods fetch their two keys themselves), the plan's replica range."""
    documents = copy.deepcopy(contract.storefront_manifests())
    deployment = contract.manifest("Deployment", documents)
    pod = deployment["spec"]["template"]["spec"]
    pod["serviceAccountName"] = "storefront"
    (container,) = [c for c in pod["containers"] if c["name"] == "storefront"]
    container["image"] = image_uri
    container.pop("envFrom", None)
    container["env"] += [{"name": name, "value": value} for name, value in environment.items()]
    deployment["spec"]["replicas"] = size.storefront.pods_min
    autoscaler = contract.manifest("HorizontalPodAutoscaler", documents)
    autoscaler["spec"]["minReplicas"] = size.storefront.pods_min
    autoscaler["spec"]["maxReplicas"] = size.storefront.pods_max
    return documents


def migration_job(image_uri: str, oltp: OltpStack, image_hash: str) -> dict:
    """A Job per image: the schema migrations and the two IAM logins, as the owner (python -m serving.migrate
    --logins). Its name carries the image's hash, so a new image runs it again and a re-deploy does not."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"storefront-migrate-{hashlib.sha256(image_hash.encode()).hexdigest()[:10]}",
            "namespace": "default",
        },
        "spec": {
            "backoffLimit": 4,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "spec": {
                    "serviceAccountName": "storefront-migrate",
                    "restartPolicy": "OnFailure",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "migrate",
                            "image": image_uri,
                            "command": ["python", "-m", "serving.migrate", "--logins"],
                            "env": [
                                {"name": "AWS_REGION", "value": Aws.REGION},
                                {"name": "MIGRATION_DATABASE_SECRET_ARN", "value": oltp.owner_secret.secret_arn},
                            ],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                        }
                    ],
                }
            },
        },
    }
