"""Pipeline configuration, read once from the environment (Airflow variables/connections on MWAA)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

TARGETS = ("local", "aws")
REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    target: str  # local | aws
    database_url: str  # the OLTP database the extract reads
    lake_uri: str  # file:///... or s3://bucket/prefix
    extract_lag: timedelta  # a window may be extracted only this long after its end
    page_rows: int  # orders per keyset page (one Parquet row group)
    alerts_path: str  # local target: where failure alerts are appended (JSON lines)
    sns_topic_arn: str | None  # aws target: where failure alerts are published


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def from_env(env: dict[str, str] | None = None) -> Settings:
    """Settings from environment variables; the defaults serve the local target."""
    env = dict(os.environ if env is None else env)
    target = env.get("BFP_TARGET", "local")
    if target not in TARGETS:
        raise SettingsError(f"BFP_TARGET must be one of {TARGETS}, got {target!r}")
    default_lake = (REPO_ROOT / "data" / "lake").as_uri() if target == "local" else ""
    lake_uri = env.get("BFP_LAKE_URI", default_lake).rstrip("/")
    if not lake_uri:
        raise SettingsError("BFP_LAKE_URI is required on the aws target (s3://bucket/prefix)")
    database_url = env.get("DATABASE_URL", "postgresql://bfp@127.0.0.1:55432/bfp" if target == "local" else "")
    if not database_url:
        raise SettingsError("DATABASE_URL is required on the aws target (or an Airflow connection, see README)")
    sns_topic_arn = env.get("BFP_ALERTS_SNS_TOPIC_ARN") or None
    if target == "aws" and not sns_topic_arn:
        raise SettingsError("BFP_ALERTS_SNS_TOPIC_ARN is required on the aws target")
    return Settings(
        target=target,
        database_url=database_url,
        lake_uri=lake_uri,
        extract_lag=timedelta(seconds=_int(env, "BFP_EXTRACT_LAG_SECONDS", 120, 0)),
        page_rows=_int(env, "BFP_EXTRACT_PAGE_ROWS", 200_000, 1),
        alerts_path=env.get("BFP_ALERTS_PATH", str(REPO_ROOT / "data" / "alerts.jsonl")),
        sns_topic_arn=sns_topic_arn,
    )
