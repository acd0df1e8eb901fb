"""The EKS manifests and the image point at routes, files and settings the storefront really has."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / "docker" / "k8s" / "storefront.yaml"
DOCKERFILE = ROOT / "docker" / "storefront.Dockerfile"


def documents() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def test_probes_hit_the_apps_health_routes(client):
    container = documents()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert client.get(path).status_code == 200, path
    assert container["ports"][0]["containerPort"] == 8000


def test_the_autoscaler_targets_the_deployment():
    docs = documents()
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_the_image_copies_what_the_app_reads_and_runs_the_gunicorn_config():
    text = DOCKERFILE.read_text()
    for source in ("requirements.txt", "serving/", "sql/"):
        assert f"COPY {source}" in text
        assert (ROOT / source.rstrip("/")).exists()
    assert '"serving/gunicorn.conf.py"' in text
    assert "BFP_BIND=0.0.0.0:8000" in text
