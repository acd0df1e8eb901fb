"""The storefront under gunicorn with its production config (serving/gunicorn.conf.py), on free ports of its
own (the public listener and the internal one), as the tests, the drills and the scaled storefront start it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from support.net import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Gunicorn:
    url: str  # the public listener (shoppers)
    internal_url: str  # the internal listener (metrics, probes, admin, API docs)
    process: subprocess.Popen  # the master
    log_path: Path
    ready_url: str = ""  # answers 200 once the workers serve: /readyz on the internal listener by default

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def internal_port(self) -> int:
        return int(self.internal_url.rsplit(":", 1)[1])

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(self.ready_url or self.internal_url + "/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still booting its workers
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)


def start_gunicorn(settings: dict[str, str], log_path: Path, app: str | None = None) -> Gunicorn:
    """A gunicorn master with `settings` over this process's environment, on free ports; not waited for. `app`
    (module:variable) replaces the storefront (the benchmark's bare-Flask ceiling: ready when /ping answers)."""
    port, internal_port = free_port(), free_port()
    env = {
        **os.environ,
        "BFP_BIND": f"127.0.0.1:{port}",
        "BFP_INTERNAL_BIND": f"127.0.0.1:{internal_port}",
        **settings,
    }
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(log_path.parent / f"metrics-{port}"))
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                *("-c", str(ROOT / "serving" / "gunicorn.conf.py")),
                *([app] if app else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    return Gunicorn(url, f"http://127.0.0.1:{internal_port}", process, log_path, url + "/ping" if app else "")


@contextlib.contextmanager
def running_gunicorn(
    settings: dict[str, str], log_path: Path, ready_seconds: float = 60, app: str | None = None
) -> Iterator[Gunicorn]:
    """start_gunicorn, waited for until ready (see Gunicorn.ready_url); stopped on exit."""
    server = start_gunicorn(settings, log_path, app)
    try:
        wait_until(server.ready, ready_seconds, f"gunicorn to answer {server.ready_url or '/readyz'} (log: {log_path})")
        yield server
    finally:
        server.stop()
