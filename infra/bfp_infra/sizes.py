"""A deployment size as the capacity plan wrote it (infra/sizes.json, from `make capacity-plan`): the stacks
read these figures and never size anything themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SIZES_FILE = Path(__file__).resolve().parents[1] / "sizes.json"


class SizeError(ValueError):
    """An unknown size, or a sizes.json that does not carry what the stacks need."""


@dataclass(frozen=True)
class Storefront:
    pods_min: int
    pods_max: int  # the HPA's maxReplicas
    node_instance_type: str
    nodes_min: int
    nodes_max: int


@dataclass(frozen=True)
class Database:
    instance_class: str
    storage_gib: int
    max_connections: int  # RDS's default for the class: LEAST(DBInstanceClassMemory / 9531392, 5000)
    proxy_max_connections_percent: int  # of the instance's max_connections the proxy may open


@dataclass(frozen=True)
class Redis:
    node_type: str
    shards: int
    replicas_per_shard: int
    maxmemory_policy: str


@dataclass(frozen=True)
class Emr:
    initial_executors: int  # pre-initialized workers kept warm while the application runs
    worker_vcpu: int
    worker_memory_gb: int
    max_vcpu: int
    max_memory_gb: int
    shuffle_partitions: int  # the job's bound; AQE sizes each shuffle from its bytes below it


@dataclass(frozen=True)
class Mwaa:
    environment_class: str
    min_workers: int
    max_workers: int
    schedulers: int


@dataclass(frozen=True)
class Size:
    name: str
    storefront: Storefront
    database: Database
    state_redis: Redis
    cache_redis: Redis
    emr: Emr
    mwaa: Mwaa
    athena_bytes_scanned_cutoff: int  # per query, the workgroup's limit


def names(path: Path = SIZES_FILE) -> list[str]:
    """The sizes the plan wrote, smallest first."""
    return list(json.loads(path.read_text())["sizes"])


def load(name: str, path: Path = SIZES_FILE) -> Size:
    """The size `name` from sizes.json; a clear error naming the known sizes otherwise."""
    if not path.exists():
        raise SizeError(f"{path} is missing: run `make capacity-plan` (it writes the sizes the stacks read)")
    data = json.loads(path.read_text())
    sizes = data.get("sizes", {})
    if name not in sizes:
        raise SizeError(f"unknown size {name!r} (-c size=...): {path.name} has {', '.join(sizes)}")
    figures = sizes[name]
    try:
        return Size(
            name=name,
            storefront=Storefront(**figures["storefront"]),
            database=Database(**figures["database"]),
            state_redis=Redis(**figures["state_redis"]),
            cache_redis=Redis(**figures["cache_redis"]),
            emr=Emr(**figures["emr"]),
            mwaa=Mwaa(**figures["mwaa"]),
            athena_bytes_scanned_cutoff=int(figures["athena_bytes_scanned_cutoff"]),
        )
    except (KeyError, TypeError) as exc:
        raise SizeError(f"{path.name}, size {name!r}: {exc}; re-run `make capacity-plan`") from exc
