"""scripts/services.sh: starts real PostgreSQL and Redis, idempotently, and recovers stale pid files."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest
import redis

from support.net import free_port
from support.services import parse_env_lines
from support.services import services_sh as run_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_services(tmp_path: Path):
    """Settings for a separate instance of the services; destroyed after the test."""
    env = {
        **os.environ,
        "BFP_STATE_DIR": str(tmp_path / "state"),
        "BFP_PG_PORT": str(free_port()),
        "BFP_REDIS_PORT": str(free_port()),
        "BFP_REDIS_CACHE_PORT": str(free_port()),
    }
    yield env
    run_services("destroy", env)


def assert_reachable(urls: dict[str, str]) -> None:
    with psycopg2.connect(urls["DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_setting('port')")
        assert cur.fetchone() == ("bfp", urls["DATABASE_URL"].rsplit(":", 1)[1].split("/")[0])
    assert redis.Redis.from_url(urls["REDIS_URL"], socket_timeout=5).ping()
    assert redis.Redis.from_url(urls["BFP_CACHE_REDIS_URL"], socket_timeout=5).ping()


def test_up_twice_is_fine_and_prints_working_urls(own_services):
    first = run_services("up", own_services)
    assert first.returncode == 0, first.stderr
    second = run_services("up", own_services)
    assert second.returncode == 0, second.stderr
    assert "postgres already running" in second.stderr
    assert "redis (state) already running" in second.stderr and "redis (cache) already running" in second.stderr
    urls = parse_env_lines(second.stdout)
    assert urls["DATABASE_URL"] == f"postgresql://bfp@127.0.0.1:{own_services['BFP_PG_PORT']}/bfp"
    assert urls["REDIS_URL"] == f"redis://127.0.0.1:{own_services['BFP_REDIS_PORT']}/0"
    assert urls["BFP_CACHE_REDIS_URL"] == f"redis://127.0.0.1:{own_services['BFP_REDIS_CACHE_PORT']}/0"
    assert_reachable(urls)
    status = run_services("status", own_services)
    assert status.returncode == 0
    assert "postgres: running" in status.stdout
    assert "redis (state): running" in status.stdout and "redis (cache): running" in status.stdout


def test_stale_pid_files_are_recovered(own_services):
    assert run_services("up", own_services).returncode == 0
    state = Path(own_services["BFP_STATE_DIR"])
    redis_pid = state / "redis" / "redis.pid"
    os.kill(int(redis_pid.read_text()), signal.SIGKILL)  # dies without removing its pid file
    assert run_services("down", own_services).returncode == 0
    pg_data = Path(re.search(r"\(data: (.+)\)", run_services("status", own_services).stdout).group(1))
    # Pid files naming a process that is not the service, as left behind by a crash or a reboot.
    redis_pid.write_text(f"{os.getpid()}\n")
    (pg_data / "postmaster.pid").write_text(f"{os.getpid()}\n{pg_data}\n0\n{own_services['BFP_PG_PORT']}\n")
    assert run_services("status", own_services).returncode == 3
    restarted = run_services("up", own_services)
    assert restarted.returncode == 0, restarted.stderr
    assert f"removing stale {pg_data}/postmaster.pid" in restarted.stderr
    assert f"removing stale {redis_pid}" in restarted.stderr
    assert_reachable(parse_env_lines(restarted.stdout))


def test_down_stops_both(own_services):
    assert run_services("up", own_services).returncode == 0
    assert run_services("down", own_services).returncode == 0
    status = run_services("status", own_services)
    assert status.returncode == 3
    assert "postgres: stopped" in status.stdout
    assert "redis (state): stopped" in status.stdout and "redis (cache): stopped" in status.stdout


def test_runs_as_a_normal_user():
    """Without root, the cluster runs as the calling user (as root the suite covers the runuser path)."""
    # Not pytest's tmp_path: its parent is private to root, and the unprivileged user must reach the folder.
    home = Path(tempfile.mkdtemp(prefix="bfp-normal-user-"))
    env = {
        "PATH": os.environ["PATH"],
        "BFP_STATE_DIR": str(home / "state"),
        "BFP_PG_PORT": str(free_port()),
        "BFP_REDIS_PORT": str(free_port()),
        "BFP_REDIS_CACHE_PORT": str(free_port()),
    }
    script = str(Path(__file__).resolve().parents[2] / "scripts" / "services.sh")
    if os.geteuid() == 0:
        # Any unprivileged account will do; the postgres account exists wherever the server is installed.
        shutil.chown(home, "postgres")
        command = ["runuser", "-u", "postgres", "--", script]
    else:
        command = [script]

    def services(action: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, action], env=env, capture_output=True, text=True, timeout=300, check=False)

    try:
        started = services("up")
        assert started.returncode == 0, started.stderr
        assert_reachable(parse_env_lines(started.stdout))
        owner = (home / "state" / "pg" / "data").stat().st_uid
        assert owner == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())
        assert services("destroy").returncode == 0
        assert not (home / "state").exists()
    finally:
        services("destroy")
        shutil.rmtree(home, ignore_errors=True)


def identity(urls: dict[str, str]) -> dict[str, str]:
    """Where each server answering on the URLs keeps its data: which service set it belongs to."""
    with psycopg2.connect(urls["DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute("SHOW data_directory")
        (pg,) = cur.fetchone()
    state = redis.Redis.from_url(urls["REDIS_URL"], socket_timeout=5).config_get("dir")["dir"]
    cache = redis.Redis.from_url(urls["BFP_CACHE_REDIS_URL"], socket_timeout=5).config_get("dir")["dir"]
    return {"postgres": pg, "state": state, "cache": cache}


def make_services_env(env: dict[str, str]) -> dict[str, str]:
    """The URLs the Makefile hands its targets for these settings."""
    urls = ("DATABASE_URL", "REDIS_URL", "BFP_CACHE_REDIS_URL")  # make's own, not the caller's
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(ROOT), "services-env"],
        env={name: value for name, value in env.items() if name not in urls},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return parse_env_lines(done.stdout)


def port_pair() -> int:
    """A free port whose next port is free too (the cache role's derived port)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port + 1)) != 0:
                return port
    raise RuntimeError("no free pair of ports")


@pytest.fixture
def first_set(tmp_path: Path):
    """A running service set on its own ports (the cache role on the state port + 1, as by default)."""
    env = {**os.environ, "BFP_STATE_DIR": str(tmp_path / "first"), "BFP_PG_PORT": str(free_port()),
           "BFP_REDIS_PORT": str(port_pair())}  # fmt: skip
    env.pop("BFP_REDIS_CACHE_PORT", None)
    started = run_services("up", env)
    assert started.returncode == 0, started.stderr
    yield env, parse_env_lines(started.stdout)
    run_services("destroy", env)


def test_moving_the_state_redis_port_alone_moves_the_cache_role_with_it_in_the_makefile_too(first_set, tmp_path):
    first_env, first_urls = first_set
    second_env = {**first_env, "BFP_STATE_DIR": str(tmp_path / "second"), "BFP_PG_PORT": str(free_port()),
                  "BFP_REDIS_PORT": str(port_pair())}  # fmt: skip
    try:
        started = run_services("up", second_env)
        assert started.returncode == 0, started.stderr
        second_urls = parse_env_lines(started.stdout)
        # what the Makefile exports to its targets is what services.sh started: one derivation of the ports
        assert make_services_env(second_env) == second_urls
        assert second_urls["BFP_CACHE_REDIS_URL"] == f"redis://127.0.0.1:{int(second_env['BFP_REDIS_PORT']) + 1}/0"
        first, second = identity(first_urls), identity(second_urls)
        # each server answering is the second set's own: its Redis roles keep their data in its folder (as root
        # the PostgreSQL cluster lives under /var/tmp, per set), none is the first set's
        assert all(Path(second[role]).is_relative_to(tmp_path / "second") for role in ("state", "cache")), second
        assert all(first[role] != second[role] for role in first)
    finally:
        run_services("destroy", second_env)


@pytest.mark.parametrize("moved", ["BFP_PG_PORT", "BFP_REDIS_PORT", "BFP_REDIS_CACHE_PORT"])
def test_a_second_set_that_moves_one_port_alone_is_refused_instead_of_sharing_a_server(first_set, tmp_path, moved):
    first_env, first_urls = first_set
    second_env = {**first_env, "BFP_STATE_DIR": str(tmp_path / "second"), moved: str(port_pair())}
    if moved != "BFP_REDIS_CACHE_PORT":
        second_env["BFP_REDIS_CACHE_PORT"] = str(int(first_env["BFP_REDIS_PORT"]) + 1)  # kept where it was
    before = identity(first_urls)
    try:
        started = run_services("up", second_env)
        assert started.returncode != 0, started.stdout
        taken = [name for name in ("BFP_PG_PORT", "BFP_REDIS_PORT", "BFP_REDIS_CACHE_PORT") if name != moved]
        assert "already taken by another process" in started.stderr
        assert any(f"({name})" in started.stderr and f"set {name} to a free port" in started.stderr for name in taken)
        assert identity(first_urls) == before  # the first set's servers untouched, and still its own
    finally:
        run_services("destroy", second_env)
