"""The storefront image and its EKS manifests, checked as far as a machine without Docker or a cluster allows:
hadolint on the Dockerfile, the manifests against the Kubernetes schemas (strict, the EKS version), what a
zero-downtime roll needs, and the image's own files and dependency set installed into an empty folder and venv
and booted with the image's command."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from support.net import free_port
from tests.conftest import ROOT
from tests.serving.conftest import wait_until

MANIFEST = ROOT / "docker" / "k8s" / "storefront.yaml"
DOCKERFILE = ROOT / "docker" / "storefront.Dockerfile"
EKS_KUBERNETES_VERSION = "1.34"
BIN = Path(sys.executable).parent


def documents() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def pod_spec() -> dict:
    return documents()["Deployment"]["spec"]["template"]["spec"]


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_manifests_validate_strictly_against_the_eks_kubernetes_version():
    done = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "-k", EKS_KUBERNETES_VERSION, str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == len(documents()) == 5


def container_env() -> dict[str, str]:
    return {item["name"]: item["value"] for item in pod_spec()["containers"][0]["env"]}


def test_probes_and_metrics_are_on_the_internal_port_which_the_service_does_not_expose(client):
    docs = documents()
    container = pod_spec()["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    env = container_env()
    assert env["BFP_BIND"].endswith(f":{ports['http']}") and env["BFP_INTERNAL_BIND"].endswith(f":{ports['internal']}")
    for probe in ("livenessProbe", "readinessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert container[probe]["httpGet"]["port"] == "internal"
        assert client.get(path).status_code == 200, path
    assert container[probe]["timeoutSeconds"] >= 2
    annotations = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["internal"]
    assert [port["targetPort"] for port in docs["Service"]["spec"]["ports"]] == ["http"]


def test_a_network_policy_admits_only_the_load_balancer_to_the_public_port_and_monitoring_to_the_internal_one():
    docs = documents()
    ports = {port["name"]: port["containerPort"] for port in pod_spec()["containers"][0]["ports"]}
    policy = docs["NetworkPolicy"]["spec"]
    assert policy["podSelector"] == docs["Deployment"]["spec"]["selector"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    by_port: dict[int, list] = {}
    for rule in policy["ingress"]:
        assert rule.get("from"), "a rule without `from` would open its ports to every pod"
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["from"])
    assert set(by_port) == {ports["http"], ports["internal"]}
    # the load balancer's subnets only
    shoppers = by_port[ports["http"]]
    assert shoppers and all(set(peer) == {"ipBlock"} for peer in shoppers)
    assert all(ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen >= 16 for peer in shoppers)
    # the internal port: the monitoring namespace, and the same subnets for the load balancer's health check
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert sorted(map(str, by_port[ports["internal"]])) == sorted(map(str, [monitoring, *shoppers]))
    egress = {port["port"]: rule.get("to") for rule in policy["egress"] for port in rule["ports"]}
    assert set(egress) == {53, 5432, 6379, 443}
    # HTTPS (the AWS APIs' interface endpoints) inside the VPC only, never the internet
    assert [ipaddress.ip_network(peer["ipBlock"]["cidr"]).is_private for peer in egress[443]] == [True]


def test_the_pod_mounts_no_service_account_token_and_serves_https_settings():
    assert pod_spec()["automountServiceAccountToken"] is False
    env = container_env()
    assert (env["BFP_HTTPS"], env["BFP_TRUSTED_PROXIES"], env["BFP_API_DOCS"]) == ("on", "1", "off")
    assert env["BFP_LOAD_BALANCER"] == "alb"  # declared: the storefront refuses to start without the proxy setting


def test_a_roll_never_drops_requests():
    docs = documents()
    spec, pod = docs["Deployment"]["spec"], pod_spec()
    container = pod["containers"][0]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    gunicorn_conf = (ROOT / "serving" / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r"^graceful_timeout = (\d+)", gunicorn_conf, re.M)[1])
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + graceful  # drained before the kill
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    pdb = docs["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"] == spec["selector"]["matchLabels"] and pdb["minAvailable"] >= 1
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"] and hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"]


def test_the_pod_runs_as_non_root_on_a_read_only_filesystem_with_a_writable_metrics_folder():
    pod = pod_spec()
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    metrics_dir = dockerfile_env()["PROMETHEUS_MULTIPROC_DIR"]
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert any(metrics_dir == m or metrics_dir.startswith(m.rstrip("/") + "/") for m in mounts), mounts
    assert f"USER {pod['securityContext']['runAsUser']}" in DOCKERFILE.read_text()


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env |= dict(item.split("=", 1) for item in shlex.split(line[4:]))
    return env


def dockerfile_copies() -> list[tuple[str, str]]:
    return [tuple(line.split()[1:3]) for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")]


def image_python() -> str:
    """The image's Python (3.12) when this machine has it (pyenv), else this one."""
    found = shutil.which("pyenv")
    if found:
        done = subprocess.run(
            [found, "which", "python"], env={**os.environ, "PYENV_VERSION": "3.12.1"}, capture_output=True, text=True
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return sys.executable


@pytest.mark.timeout(900)
@pytest.mark.slow  # boots the image's dependency set in a venv of its own
def test_the_images_files_and_dependency_set_boot_with_its_command(oltp_url, services, tmp_path):
    app_dir, venv = tmp_path / "app", tmp_path / "venv"
    app_dir.mkdir()
    for source, target in dockerfile_copies():  # exactly what the image copies, nothing else of the repository
        if source.endswith("/"):
            shutil.copytree(ROOT / source, app_dir / target, dirs_exist_ok=True)
        else:
            (app_dir / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, app_dir / target)
    subprocess.run([image_python(), "-m", "venv", str(venv)], check=True)
    pip = str(venv / "bin" / "pip")
    install = subprocess.run(
        [pip, "install", "--quiet", "--disable-pip-version-check", "-r", "serving/requirements.txt"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    installed = subprocess.run([str(venv / "bin" / "pip"), "list"], capture_output=True, text=True, check=True).stdout
    assert not re.search(r"(?im)^(apache-airflow|pyspark|great.expectations|duckdb|pandas) ", installed)

    command = next(line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD "))
    argv = yaml.safe_load(command[4:])
    port, internal_port = free_port(), free_port()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        **dockerfile_env(),
        "BFP_BIND": f"127.0.0.1:{port}",
        "BFP_INTERNAL_BIND": f"127.0.0.1:{internal_port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "BFP_SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": oltp_url,
        "REDIS_URL": services.redis_url,
        "BFP_CACHE_REDIS_URL": services.cache_redis_url,
        "BFP_WORKERS": "1",
    }
    process = subprocess.Popen(argv, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:

        def ready():
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode()[-3000:])
            try:
                return requests.get(f"http://127.0.0.1:{internal_port}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, 60, "the image's command to answer /readyz on its internal port")
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/categories", timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        assert requests.get(f"http://127.0.0.1:{internal_port}/metrics", timeout=5).status_code == 200
        docs = requests.get(f"http://127.0.0.1:{internal_port}/api/v1/docs", timeout=5)
        assert docs.status_code == 200 and "cdn" not in docs.text  # Swagger UI from the image itself
        asset = requests.get(f"http://127.0.0.1:{internal_port}/api/v1/docs/assets/swagger-ui-bundle.js", timeout=5)
        assert asset.status_code == 200 and len(asset.content) > 100_000
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_alert_rules_watch_metrics_the_storefront_exports():
    from prometheus_client.metrics import MetricWrapperBase

    from serving import metrics

    exported = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    rules = yaml.safe_load((ROOT / "docker" / "prometheus" / "storefront-alerts.yml").read_text())
    named = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["expr"] and rule["annotations"]["runbook"]
            named |= {
                re.sub(r"_(total|bucket|count|sum)$", "", name) for name in re.findall(r"storefront_\w+", rule["expr"])
            }
    assert named and named <= exported, named - exported
    assert "storefront_dependency_up" in named
