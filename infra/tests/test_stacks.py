"""What matters in the synthesized stacks, for every size: sizes read from the plan, no public bucket,
encryption everywhere, the state Redis that never evicts, Multi-AZ, IAM scoped to named resources, a private
Airflow web server and cluster endpoint, Glue tables generated from the table contract, the network the
storefront's NetworkPolicy expects, and MWAA options that become valid pipeline settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from aws_cdk import assertions

from bfp_infra import contract, sizes

# IAM of CDK's own machinery (its deploy-time handlers' roles, the load balancer controller's published policy):
# reviewed once in bfp_infra/checks.py, not the platform's grants
CDK_MACHINERY = (
    "LogRetention",
    "ClusterCreationRole",
    "AlbController",
    "AWSCDKOpenIdConnectProvider",
    "KubectlProvider",
    "ClusterResourceProvider",
    "CustomResourceProvider",
    "AWS679f53fac002430cb0da5b7982bd2287",
    "CustomCDKBucketDeployment",
    "CustomS3AutoDeleteObjects",
    "CustomVpcRestrictDefaultSG",
    "Rotation",
)
# actions AWS offers no resource-level permission for, each granted on "*" once, for this reason
UNSCOPED = {
    "s3:GetAccountPublicAccessBlock": "MWAA checks the account's public-access block at start",
    "cloudwatch:PutMetricData": "limited by a cloudwatch:namespace condition instead",
    "autoscaling:Describe": "the cluster autoscaler's read-only discovery",
    "ec2:Describe": "the cluster autoscaler's read-only discovery",
    "ec2:GetInstanceTypesFromInstanceRequirements": "the cluster autoscaler's read-only discovery",
    "eks:DescribeNodegroup": "the cluster autoscaler's read-only discovery",
    "autoscaling:SetDesiredCapacity": "limited to this cluster's node groups by a tag condition",
    "autoscaling:TerminateInstanceInAutoScalingGroup": "limited to this cluster's node groups by a tag condition",
}


def only(template: assertions.Template, kind: str) -> dict:
    found = template.find_resources(kind)
    assert len(found) == 1, f"{kind}: {list(found)}"
    return next(iter(found.values()))["Properties"]


@pytest.mark.parametrize("name", sizes.names())
def test_every_size_synthesizes_from_the_plans_figures(synthesized, name):
    built = synthesized[name]
    size = built.size
    assert set(built.stacks) == {
        "bfp-foundation",
        "bfp-lake",
        "bfp-oltp",
        "bfp-pipeline",
        "bfp-storefront",
        "bfp-alarms",
    }
    database = only(built.template("bfp-oltp"), "AWS::RDS::DBInstance")
    assert database["DBInstanceClass"] == size.database.instance_class
    assert database["AllocatedStorage"] == str(size.database.storage_gib)
    groups = {
        p["Properties"]["ReplicationGroupId"]: p["Properties"]
        for p in built.template("bfp-oltp").find_resources("AWS::ElastiCache::ReplicationGroup").values()
    }
    for role, figures in (("bfp-state", size.state_redis), ("bfp-cache", size.cache_redis)):
        assert groups[role]["CacheNodeType"] == figures.node_type
        assert groups[role]["NumNodeGroups"] == figures.shards
        assert groups[role]["ReplicasPerNodeGroup"] == figures.replicas_per_shard
    nodes = only(built.template("bfp-storefront"), "AWS::EKS::Nodegroup")["ScalingConfig"]
    assert (nodes["MinSize"], nodes["MaxSize"]) == (size.storefront.nodes_min, size.storefront.nodes_max)
    airflow = only(built.template("bfp-pipeline"), "AWS::MWAA::Environment")
    assert airflow["EnvironmentClass"] == size.mwaa.environment_class
    assert (airflow["MinWorkers"], airflow["MaxWorkers"]) == (size.mwaa.min_workers, size.mwaa.max_workers)
    spark = only(built.template("bfp-pipeline"), "AWS::EMRServerless::Application")
    assert spark["MaximumCapacity"] == {"Cpu": f"{size.emr.max_vcpu}vCPU", "Memory": f"{size.emr.max_memory_gb}GB"}
    assert spark["ReleaseLabel"] == contract.emr_release()
    workgroup = only(built.template("bfp-lake"), "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert workgroup["BytesScannedCutoffPerQuery"] == size.athena_bytes_scanned_cutoff
    hpa = [doc for doc in applied_manifests(built) if doc["kind"] == "HorizontalPodAutoscaler"]
    assert [(d["spec"]["minReplicas"], d["spec"]["maxReplicas"]) for d in hpa] == [
        (size.storefront.pods_min, size.storefront.pods_max)
    ]


def test_no_bucket_is_public_and_every_one_is_encrypted_versioned_and_tls_only(seed):
    buckets = seed.resources("AWS::S3::Bucket")
    assert len(buckets) >= 4
    for _stack, logical, bucket in buckets:
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical
        assert props["VersioningConfiguration"]["Status"] == "Enabled", logical
    denied = [
        policy["Properties"]["Bucket"]
        for _, _, policy in seed.resources("AWS::S3::BucketPolicy")
        if any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert len(denied) == len(buckets)


def test_data_at_rest_is_encrypted_with_the_platforms_keys(seed):
    database = only(seed.template("bfp-oltp"), "AWS::RDS::DBInstance")
    assert database["StorageEncrypted"] is True and "KmsKeyId" in database
    for _, logical, group in seed.resources("AWS::ElastiCache::ReplicationGroup"):
        props = group["Properties"]
        assert props["AtRestEncryptionEnabled"] and props["TransitEncryptionEnabled"], logical
        assert props["TransitEncryptionMode"] == "required" and "KmsKeyId" in props, logical
    for _, logical, topic in seed.resources("AWS::SNS::Topic"):
        assert "KmsMasterKeyId" in topic["Properties"], logical
    for _, logical, secret in seed.resources("AWS::SecretsManager::Secret"):
        assert "KmsKeyId" in secret["Properties"], logical
    for _, logical, key in seed.resources("AWS::KMS::Key"):
        assert key["Properties"]["EnableKeyRotation"] is True, logical
    unencrypted = [
        logical for _, logical, group in seed.resources("AWS::Logs::LogGroup") if "KmsKeyId" not in group["Properties"]
    ]
    assert unencrypted == ["FirewallLogsC775C0BF"]  # WAF's destination: checkov-suppressed with its reason


def test_the_state_redis_never_evicts_and_has_a_replica_in_another_zone(synthesized):
    for built in synthesized.values():
        template = built.template("bfp-oltp")
        parameters = {
            logical: p["Properties"]
            for logical, p in template.find_resources("AWS::ElastiCache::ParameterGroup").items()
        }
        groups = {
            p["Properties"]["ReplicationGroupId"]: p["Properties"]
            for p in template.find_resources("AWS::ElastiCache::ReplicationGroup").values()
        }
        state, cache = groups["bfp-state"], groups["bfp-cache"]
        assert parameters[state["CacheParameterGroupName"]["Ref"]]["Properties"]["maxmemory-policy"] == "noeviction"
        assert parameters[cache["CacheParameterGroupName"]["Ref"]]["Properties"]["maxmemory-policy"] == "allkeys-lru"
        assert state["ReplicasPerNodeGroup"] >= 1 and state["MultiAZEnabled"] and state["AutomaticFailoverEnabled"]
        assert state["SnapshotRetentionLimit"] >= 1


def test_postgresql_is_multi_az_behind_an_iam_only_proxy(seed):
    template = seed.template("bfp-oltp")
    database = only(template, "AWS::RDS::DBInstance")
    assert database["MultiAZ"] is True and database["EnableIAMDatabaseAuthentication"] is True
    assert database["DeletionProtection"] is True and database["BackupRetentionPeriod"] >= 7
    proxy = only(template, "AWS::RDS::DBProxy")
    assert proxy["RequireTLS"] is True and proxy["DefaultAuthScheme"] == "IAM_AUTH"
    assert proxy.get("Auth", []) == [], "no password secrets behind the proxy: IAM end to end"


def statements(built) -> list[tuple[str, dict]]:
    """(construct path, statement) of every identity policy the platform itself grants."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
        for _stack, logical, resource in built.resources(kind):
            path = resource.get("Metadata", {}).get("aws:cdk:path", logical)
            if any(part in path or part in logical for part in CDK_MACHINERY):
                continue
            props = resource["Properties"]
            documents = (
                [p["PolicyDocument"] for p in props.get("Policies", [])]
                if kind == "AWS::IAM::Role"
                else [props["PolicyDocument"]]
            )
            found += [(path, statement) for document in documents for statement in document["Statement"]]
    return found


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def test_iam_actions_are_named_and_scoped_to_named_resources(synthesized):
    for built in synthesized.values():
        checked = statements(built)
        assert len(checked) > 30
        for path, statement in checked:
            actions = listed(statement["Action"])
            assert not [a for a in actions if a == "*" or a.endswith(":*")], (path, actions)
            if "*" in listed(statement.get("Resource", [])):
                unexplained = [a for a in actions if not any(a.startswith(prefix) for prefix in UNSCOPED)]
                assert not unexplained, f"{path}: {unexplained} on '*'"
                if any(a.startswith(("cloudwatch:PutMetricData", "autoscaling:SetDesiredCapacity")) for a in actions):
                    assert statement.get("Condition"), (path, actions)


def test_the_execution_role_may_run_only_this_applications_jobs_and_pass_only_its_job_role(seed):
    granted = [s for path, s in statements(seed) if "AirflowRole" in path]
    by_action = {a: s for s in granted for a in listed(s["Action"])}
    assert json.dumps(by_action["emr-serverless:StartJobRun"]["Resource"]).count("Spark") >= 1
    pass_role = by_action["iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
    assert "SparkJobRole" in json.dumps(pass_role["Resource"])
    assert "bfp_extract" in json.dumps(by_action["rds-db:connect"]["Resource"])


def test_the_airflow_web_server_and_the_cluster_endpoint_are_private(seed):
    airflow = only(seed.template("bfp-pipeline"), "AWS::MWAA::Environment")
    assert airflow["WebserverAccessMode"] == "PRIVATE_ONLY"
    cluster = only(seed.template("bfp-storefront"), "Custom::AWSCDK-EKS-Cluster")["Config"]["resourcesVpcConfig"]
    assert cluster["endpointPublicAccess"] is False and cluster["endpointPrivateAccess"] is True


def test_glue_tables_are_the_table_contract(seed):
    tables = {
        (p["Properties"]["DatabaseName"], p["Properties"]["TableInput"]["Name"]): p["Properties"]["TableInput"]
        for p in seed.template("bfp-lake").find_resources("AWS::Glue::Table").values()
    }
    contract_tables = contract.tables()
    assert set(tables) == {(t.database, t.name) for t in contract_tables.values()}
    for table in contract_tables.values():
        glue = tables[(table.database, table.name)]
        columns = [(c["Name"], c["Type"]) for c in glue["StorageDescriptor"]["Columns"]]
        assert columns == [(name, contract.glue_type(kind)) for name, kind in table.columns]
        assert [(c["Name"], c["Type"]) for c in glue["PartitionKeys"]] == [
            (name, contract.glue_type(kind)) for name, kind in table.partition_columns
        ]
        assert json.dumps(glue["StorageDescriptor"]["Location"]).endswith(f'/{table.lake_path}/"]]}}')
        assert glue["Parameters"]["parquet.compression"] == "ZSTD"


def test_the_public_subnets_are_the_ones_the_network_policy_admits(seed):
    cidrs = [
        s["Properties"]["CidrBlock"]
        for s in seed.template("bfp-foundation").find_resources("AWS::EC2::Subnet").values()
        if s["Properties"]["MapPublicIpOnLaunch"]
    ]
    assert sorted(cidrs) == sorted(contract.load_balancer_cidrs())


def applied_manifests(built) -> list[dict]:
    documents = []
    for _, _, resource in built.resources("Custom::AWSCDK-EKS-KubernetesResource"):
        manifest = resource["Properties"]["Manifest"]
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        if isinstance(manifest, dict):  # a Fn::Join of the manifest's JSON and tokens
            text = "".join(p if isinstance(p, str) else "TOKEN" for p in manifest["Fn::Join"][1])
        documents += json.loads(text)
    return documents


def test_the_applied_manifests_are_the_repositorys_with_the_images_and_settings_filled_in(seed):
    applied = {(d["kind"], d["metadata"]["name"]): d for d in applied_manifests(seed)}
    for document in contract.storefront_manifests():
        assert (document["kind"], document["metadata"]["name"]) in applied
    pod = applied[("Deployment", "storefront")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert pod["serviceAccountName"] == "storefront" and "envFrom" not in container
    assert env["BFP_DATABASE_IAM_AUTH"] == "on" and env["BFP_REDIS_IAM_AUTH"] == "on"
    assert env["DATABASE_URL"].startswith("postgresql://storefront@") and "sslmode=require" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("rediss://bfp-storefront@")
    assert {"BFP_SECRET_KEY_SECRET_ARN", "BFP_ADMIN_TOKEN_SECRET_ARN"} <= set(env)
    assert not [name for name in env if name in ("BFP_SECRET_KEY", "BFP_ADMIN_TOKEN")], "no key in the manifest"
    binding = applied[("TargetGroupBinding", "storefront")]["spec"]
    assert binding["serviceRef"] == {"name": "storefront", "port": 80} and binding["targetType"] == "ip"
    (job,) = [d for d in applied.values() if d["kind"] == "Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == ["serving.migrate", "--logins"]


def test_the_writers_pool_is_created_as_the_dags_expect(seed):
    pool, description = contract.lake_writer_pool()
    (call,) = [r["Properties"] for _, _, r in seed.resources("Custom::AWS") if "InvokeRestApi" in json.dumps(r)]
    create = call["Create"]
    create = json.loads(
        create if isinstance(create, str) else "".join(p if isinstance(p, str) else "T" for p in create["Fn::Join"][1])
    )
    assert create["parameters"]["Body"] == {
        "name": pool,
        "slots": 1,
        "description": description,
        "include_deferred": True,
    }
    assert create["parameters"]["Path"] == "/pools" and create["parameters"]["Method"] == "POST"


def test_the_environments_options_become_the_pipelines_settings(seed):
    """MWAA exports option `bfp.x` as AIRFLOW__BFP__X; the bundle's startup script maps those to the settings
    the tasks read, and pipeline.settings accepts them as an aws target."""
    options = only(seed.template("bfp-pipeline"), "AWS::MWAA::Environment")["AirflowConfigurationOptions"]
    env = {}
    for key, value in options.items():
        section, name = key.split(".", 1)
        text = (
            value
            if isinstance(value, str)
            else "".join(p if isinstance(p, str) else "resolved" for p in value.get("Fn::Join", ["", ["resolved"]])[1])
        )
        env[f"AIRFLOW__{section.upper()}__{name.upper()}"] = text
    shell = subprocess.run(
        ["bash", "-c", f"source {contract.ROOT / 'scripts' / 'mwaa_startup.sh'} && env -0"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    )
    exported = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    sys.path.insert(0, str(contract.ROOT / "dags"))
    from pipeline import settings

    parsed = settings.from_env(exported)
    assert parsed.target == "aws" and parsed.database_iam_auth and parsed.lake_uri.startswith("s3://")
    assert parsed.window_length.total_seconds() == 3600 and parsed.athena_workgroup == "bfp"


def test_the_alarms_watch_what_on_call_needs(seed):
    names = {
        p["Properties"]["AlarmName"]
        for p in seed.template("bfp-alarms").find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert {
        "bfp-pipeline-stale",
        "bfp-pipeline-silent",
        "bfp-dq-gate-failed",
        "bfp-storefront-5xx",
        "bfp-storefront-latency",
        "bfp-rds-cpu",
        "bfp-rds-connections",
    } <= names
    assert [n for n in names if n.startswith("bfp-state-redis-memory-")]
    for alarm in seed.template("bfp-alarms").find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"], alarm["Properties"]["AlarmName"]
