"""The storefront as several instances on this machine (`make serve-scaled`, the scaled tests and drill):
N gunicorn masters, each on its own ports, behind HAProxy, with PostgreSQL behind PgBouncer in transaction
pooling — the local stand-ins for the ALB and RDS Proxy. Everything binds to 127.0.0.1.

    python -m support.scaled [--instances 3]     runs until Ctrl-C (make serve-scaled)

HAProxy checks each instance's /readyz on its internal port every 500 ms and takes it out after 2 misses;
a request whose connection to a dead instance is refused goes to another (`option redispatch`). It appends
the client's address to X-Forwarded-For, so the instances trust one proxy. PgBouncer holds at most
`pool_size` server connections to PostgreSQL whatever N is; the statement and lock timeouts are set on its
server connections (clients' startup options cannot pass a transaction pooler) and the instances prepare no
statements (BFP_DB_PREPARED_STATEMENTS=off).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from psycopg.conninfo import conninfo_to_dict

from support.gunicorn import Gunicorn, start_gunicorn
from support.net import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PACKAGES = ROOT / "scripts" / "system_packages.sh"


def install_packages() -> None:
    """HAProxy and PgBouncer, declared in scripts/system-packages.txt and installed by `make system`: run on their
    own, the scaled storefront installs what is missing; a test process fails naming `make system`."""
    done = subprocess.run(
        [str(SYSTEM_PACKAGES), "ensure", "haproxy", "pgbouncer"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"{SYSTEM_PACKAGES} ensure haproxy pgbouncer failed")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Scaled:
    url: str  # HAProxy's shoppers' frontend
    internal_url: str  # HAProxy's frontend to the instances' internal listeners (admin, metrics)
    pooler_url: str  # PgBouncer (what the instances connect to)
    pool_size: int
    instances: list[Gunicorn]
    state: Path


def pgbouncer_config(state: Path, database_url: str, port: int, pool_size: int, env: dict[str, str]) -> Path:
    target = conninfo_to_dict(database_url)
    timeouts = (
        f"SET statement_timeout = {env.get('BFP_STATEMENT_TIMEOUT_MS', '2000')}; "
        f"SET lock_timeout = {env.get('BFP_LOCK_TIMEOUT_MS', '1000')}"
    )
    (state / "userlist.txt").write_text(f'"{target.get("user", "bfp")}" ""\n')
    config = state / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
{target["dbname"]} = host={target.get("host", "127.0.0.1")} port={target.get("port", 5432)} \
dbname={target["dbname"]} pool_size={pool_size} connect_query='{timeouts}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {state / "userlist.txt"}
pool_mode = transaction
max_client_conn = 2000
default_pool_size = {pool_size}
reserve_pool_size = 0
ignore_startup_parameters = extra_float_digits,options
logfile = {state / "pgbouncer.log"}
"""
    )
    return config


def haproxy_config(state: Path, port: int, internal_port: int, instances: list[Gunicorn]) -> Path:
    def servers(internal: bool) -> str:
        return "\n".join(
            f"  server s{n} 127.0.0.1:{i.internal_port if internal else i.port} "
            f"check port {i.internal_port} inter 500ms fall 2 rise 1"
            for n, i in enumerate(instances, start=1)
        )

    config = state / "haproxy.cfg"
    config.write_text(
        f"""global
  maxconn 4096

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option redispatch
  retries 2
  option forwardfor

frontend shoppers
  bind 127.0.0.1:{port}
  default_backend storefronts

frontend internal
  bind 127.0.0.1:{internal_port}
  default_backend internal_listeners

backend storefronts
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
{servers(internal=False)}

backend internal_listeners
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
{servers(internal=True)}
"""
    )
    return config


@contextlib.contextmanager
def scaled_storefront(
    database_url: str,
    redis_url: str,
    cache_redis_url: str,
    instances: int = 3,
    pool_size: int = 20,
    workers: int = 1,
    state: Path | None = None,
    **settings: str,
) -> Iterator[Scaled]:
    """N instances behind HAProxy, PostgreSQL behind PgBouncer; everything stopped on exit."""
    install_packages()
    state = state or Path(tempfile.mkdtemp(prefix="bfp-scaled-"))
    state.mkdir(parents=True, exist_ok=True)
    pooler_dir = Path(tempfile.mkdtemp(prefix="bfp-pgbouncer-"))
    if os.geteuid() == 0:
        shutil.chown(pooler_dir, "postgres")  # PgBouncer refuses to run as root: it runs as postgres
    pooler_port, lb_port, lb_internal_port = free_port(), free_port(), free_port()
    pooler_url = f"postgresql://{conninfo_to_dict(database_url).get('user', 'bfp')}@127.0.0.1:{pooler_port}/"
    pooler_url += conninfo_to_dict(database_url)["dbname"]
    env = {
        **os.environ,
        "BFP_SECRET_KEY": settings.pop("BFP_SECRET_KEY", secrets.token_hex(32)),  # one key: sessions cross instances
        "DATABASE_URL": pooler_url,
        "REDIS_URL": redis_url,
        "BFP_CACHE_REDIS_URL": cache_redis_url,
        "BFP_DB_PREPARED_STATEMENTS": "off",
        "BFP_TRUSTED_PROXIES": "1",
        "BFP_WORKERS": str(workers),
        "BFP_ACCESS_LOG": str(state / "access.log"),
        **settings,
    }
    config = pgbouncer_config(pooler_dir, database_url, pooler_port, pool_size, env)
    user = ["-u", "postgres"] if os.geteuid() == 0 else []
    processes: list[subprocess.Popen] = []
    started: list[Gunicorn] = []
    try:
        with (pooler_dir / "pgbouncer.out").open("ab") as out:
            processes.append(subprocess.Popen(["pgbouncer", *user, str(config)], stdout=out, stderr=subprocess.STDOUT))
        wait_until(lambda: accepts(pooler_port), 20, f"PgBouncer on :{pooler_port} (see {pooler_dir}/pgbouncer.log)")
        started = [start_gunicorn(env, state / "gunicorn.log") for _ in range(instances)]
        for instance in started:
            wait_until(instance.ready, 60, f"instance {instance.url}")
        haproxy = haproxy_config(state, lb_port, lb_internal_port, started)
        with (state / "haproxy.out").open("ab") as out:
            processes.append(subprocess.Popen(["haproxy", "-db", "-f", str(haproxy)], stdout=out, stderr=out))
        lb = f"http://127.0.0.1:{lb_port}"
        wait_until(lambda: answers(f"http://127.0.0.1:{lb_internal_port}/readyz"), 20, "HAProxy")
        yield Scaled(lb, f"http://127.0.0.1:{lb_internal_port}", pooler_url, pool_size, started, state)
    finally:
        for instance in started:
            if instance.process.poll() is None:
                instance.process.terminate()
        for process in processes:
            process.terminate()
        for process in [*processes, *(i.process for i in started)]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(pooler_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m support.scaled", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=int(os.environ.get("BFP_INSTANCES", "3")))
    parser.add_argument("--pool-size", type=int, default=20, help="PgBouncer's server connections (%(default)s)")
    args = parser.parse_args(argv)
    for name in ("DATABASE_URL", "REDIS_URL", "BFP_CACHE_REDIS_URL"):
        if not os.environ.get(name):
            parser.error(f"set {name} (make services-up prints it)")
    with scaled_storefront(
        os.environ["DATABASE_URL"],
        os.environ["REDIS_URL"],
        os.environ["BFP_CACHE_REDIS_URL"],
        args.instances,
        args.pool_size,
        state=ROOT / ".local" / "scaled",
    ) as scaled:
        sys.stderr.write(
            f"serve-scaled: {len(scaled.instances)} instances "
            f"({', '.join(str(i.port) for i in scaled.instances)}) behind HAProxy on {scaled.url}/ "
            f"(internal {scaled.internal_url}), PostgreSQL through PgBouncer ({scaled.pool_size} server "
            f"connections); Ctrl-C stops them\n"
        )
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})  # then the context stops everything it started
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
