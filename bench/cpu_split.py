"""Which processes used the machine's CPU during a benchmark step, for `make bench-serve`: everything shares
the same cores here, so a ratio is only understood with who spent what (the server's workers, PostgreSQL,
Redis, the load generator, the floor's own driver)."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections.abc import Iterator

import psutil

GROUPS = ("storefront", "postgres", "redis", "locust", "this process")


def _group(process: psutil.Process) -> str | None:
    if process.pid == os.getpid():
        return "this process"
    name = process.info["name"] or ""
    command = " ".join(process.info["cmdline"] or [])
    if name.startswith("postgres") or "postgres:" in command:
        return "postgres"
    if "redis-server" in command:
        return "redis"
    if "gunicorn" in command or "granian" in command:
        return "storefront"
    return None


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each group: the processes alive now, and Locust as the
    children this process has waited for (Locust runs to its end inside a measured block)."""
    used = dict.fromkeys(GROUPS, 0.0)
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        group = _group(process)
        times = process.info["cpu_times"]
        if group is not None and times is not None:
            used[group] += times.user + times.system
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["locust"] = children.ru_utime + children.ru_stime
    return used


@contextlib.contextmanager
def cpu_split() -> Iterator[dict[str, float]]:
    """Yields a dict filled on exit with each group's CPU cores used on average during the block (the server
    and databases must stay alive through it; Locust must have been waited for)."""
    before, started = cpu_seconds(), time.monotonic()
    result: dict[str, float] = {}
    yield result
    after, elapsed = cpu_seconds(), time.monotonic() - started
    result.update({group: max(0.0, after[group] - before[group]) / elapsed for group in GROUPS})
    result["elapsed"] = elapsed
