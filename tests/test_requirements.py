"""Each deployable's dependency set installs where it deploys, and the local venv runs MWAA's versions."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SMOKE = Path(__file__).with_name("smoke_imports.py")
CONSTRAINTS = ROOT / "dags" / "constraints"
# MWAA's constraints are Python 3.12's: these pins have no release for other Pythons (scripts/bootstrap.sh)
ONLY_ON_312 = {"numpy", "scipy"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def mwaa_pins() -> dict[str, str]:
    pins = {}
    for path in (CONSTRAINTS / "airflow_constraints.txt", CONSTRAINTS / "mwaa_essential_constraints.txt"):
        for line in path.read_text().splitlines():
            if "==" in line and not line.startswith("#"):
                name, version = line.split("==")
                pins[canonical(name)] = version.strip()
    return pins


def python_312() -> str:
    """MWAA's Python: this interpreter when it is 3.12, else a pyenv 3.12 (as scripts/bootstrap.sh finds it)."""
    if sys.version_info[:2] == (3, 12):
        return sys.executable
    pyenv = shutil.which("pyenv")
    versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout if pyenv else ""
    for version in sorted(re.findall(r"^3\.12\.\d+$", versions, re.M), reverse=True):
        found = subprocess.run(
            [pyenv, "which", "python"],
            env={"PYENV_VERSION": version, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        if found.returncode == 0:
            return found.stdout.strip()
    raise AssertionError("no Python 3.12 to check the MWAA set with: install python3.12 (MWAA 3.3.1 runs 3.12)")


def test_every_pinned_package_imports_at_its_pinned_version():
    done = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "versions match requirements.txt" in done.stdout


def test_the_local_venv_runs_the_versions_mwaa_runs():
    pins = mwaa_pins()
    differ = {}
    for distribution in importlib.metadata.distributions():
        name = canonical(distribution.metadata["Name"])
        if name in pins and distribution.version != pins[name]:
            differ[name] = (distribution.version, pins[name])
    assert {"apache-airflow", "apache-airflow-providers-amazon", "pandas", "pyarrow", "sqlalchemy"} <= {
        canonical(d.metadata["Name"]) for d in importlib.metadata.distributions()
    } & set(pins)
    allowed = set() if sys.version_info[:2] == (3, 12) else ONLY_ON_312
    assert set(differ) <= allowed, f"installed vs MWAA 3.3.1: {differ}"


@pytest.mark.slow  # pip resolves MWAA's set on Python 3.12
def test_the_mwaa_requirements_resolve_against_mwaas_constraints_on_python_312(tmp_path):
    """The bundle's requirements.txt, installed as MWAA does (safe-pip-install: essential constraints always,
    the file's own `-c`), in a dry run. Its `-c` URL is the file dags/constraints/ keeps a copy of."""
    from mwaa_bundle import AIRFLOW_CONSTRAINTS_URL, mwaa_requirements

    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        mwaa_requirements().replace(AIRFLOW_CONSTRAINTS_URL, str(CONSTRAINTS / "airflow_constraints.txt"))
    )
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            python_312(),
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "--constraint",
            str(CONSTRAINTS / "mwaa_essential_constraints.txt"),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {
        canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]
    }
    pins = mwaa_pins()
    assert {name: v for name, v in resolved.items() if name in pins and pins[name] != v} == {}
    assert resolved["great-expectations"] == "1.24.1"
    assert not set(resolved) & {"pyspark", "flask-smorest", "pytest", "matplotlib"}


def test_the_spark_jobs_need_pyspark_and_the_standard_library_only():
    pinned = [line for line in (ROOT / "spark" / "requirements.txt").read_text().splitlines() if "==" in line]
    assert [line.split("==")[0] for line in pinned] == ["pyspark"]
    from package_spark import PACKAGES  # what the --py-files zip ships: jobs, transforms, seasons, contracts

    own = {name for _, name in PACKAGES}
    imported = set()
    for path in [path for folder, name in PACKAGES for path in (folder / name).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - own == {"pyspark"}
