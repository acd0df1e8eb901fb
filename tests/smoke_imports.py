"""Imports every top-level package the platform pins and checks the installed versions match the pins.

Run as a real script file (python tests/smoke_imports.py): pyspark can exit silently on import under -c.
"""

import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

# distribution name -> module to import
MODULES = {
    "apache-airflow": "airflow",
    "apache-airflow-providers-amazon": "airflow.providers.amazon",
    "apache-airflow-providers-standard": "airflow.providers.standard",
    "great-expectations": "great_expectations",
    "pyspark": "pyspark.sql",
    "pandas": "pandas",
    "pyarrow": "pyarrow.parquet",
    "duckdb": "duckdb",
    "flask": "flask",
    "flask-smorest": "flask_smorest",
    "marshmallow": "marshmallow",
    "flask-wtf": "flask_wtf",
    "flask-swagger-ui": "flask_swagger_ui",
    "circuitbreaker": "circuitbreaker",
    "limits": "limits",
    "gunicorn": "gunicorn",
    "psycopg": "psycopg",
    "psycopg-binary": "psycopg_binary",
    "psycopg-pool": "psycopg_pool",
    "prometheus-client": "prometheus_client",
    "psycopg2-binary": "psycopg2",
    "asyncpg": "asyncpg",
    "redis": "redis",
    "cachetools": "cachetools",
    "usaddress": "usaddress",
    "jellyfish": "jellyfish",
    "confusable-homoglyphs": "confusable_homoglyphs",
    "python-crfsuite": "pycrfsuite",
    "probableparsing": "probableparsing",
    "itsdangerous": "itsdangerous",
    "werkzeug": "werkzeug",
    "jinja2": "jinja2",
    "markupsafe": "markupsafe",
    "click": "click",
    "blinker": "blinker",
    "apispec": "apispec",
    "webargs": "webargs",
    "wtforms": "wtforms",
    "packaging": "packaging",
    "hiredis": "hiredis",
    "boto3": "boto3",
    "botocore": "botocore",
    "jmespath": "jmespath",
    "s3transfer": "s3transfer",
    "python-dateutil": "dateutil",
    "six": "six",
    "urllib3": "urllib3",
    "tqdm": "tqdm",
    "sqlglot": "sqlglot",
    "plotly": "plotly.graph_objects",
    "rich": "rich",
    "rich-argparse": "rich_argparse",
    "requests": "requests",
    "tenacity": "tenacity",
    "pytest": "pytest",
}


def pins(requirements: Path) -> dict[str, str]:
    """name -> pinned version, following `-r other.txt` includes."""
    found = {}
    for line in requirements.read_text().splitlines():
        if line.startswith("-r "):
            found |= pins(requirements.parent / line.split(maxsplit=1)[1])
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+).*", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def main() -> int:
    pinned = pins(Path(__file__).resolve().parents[1] / "requirements.txt")
    missing = sorted(set(pinned) - set(MODULES))
    if missing:
        print(f"no import check for pinned {missing}: add them to MODULES")
        return 1
    problems = []
    for distribution, module in MODULES.items():
        importlib.import_module(module)
        installed = importlib.metadata.version(distribution)
        if installed != pinned.get(distribution):
            problems.append(f"{distribution}: installed {installed}, pinned {pinned.get(distribution)}")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"imported {len(MODULES)} packages on Python {sys.version.split()[0]}: versions match requirements.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
