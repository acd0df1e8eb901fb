"""scripts/services.sh: starts real PostgreSQL and Redis, idempotently, and recovers stale pid files."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest
import redis

from support.net import free_port
from support.services import parse_env_lines
from support.services import services_sh as run_services


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
