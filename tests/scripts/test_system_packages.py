"""scripts/system_packages.sh: every system package declared once, installed before the tests, never from them."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
from pathlib import Path

from support.net import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system_packages.sh"
DECLARED = ROOT / "scripts" / "system-packages.txt"
ABSENT = "bfp-no-such-package"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def a_list_with_an_absent_package(tmp_path: Path) -> dict[str, str]:
    listed = tmp_path / "system-packages.txt"
    listed.write_text(f"# test list\npostgresql   the database\n{ABSENT}   nothing: no such package exists\n")
    return {"BFP_SYSTEM_PACKAGES": str(listed), "BFP_PACKAGES_LOCK": str(tmp_path / "lock")}


def test_every_declared_package_is_installed_before_any_test_runs():
    done = run("check")
    assert done.returncode == 0, done.stderr


def test_no_file_but_the_installer_calls_apt_get_install():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    callers = [
        name for name in tracked
        if name.endswith((".sh", ".py", "Makefile", ".yml", ".yaml")) and name != "scripts/system_packages.sh"
        and re.search(r"apt-get[\"', ]+.*install|\"install\", \"-y\"", (ROOT / name).read_text())
    ]  # fmt: skip
    assert callers == []


def test_each_package_is_declared_once_with_what_uses_it():
    rows = [line.split(None, 1) for line in DECLARED.read_text().splitlines() if line and not line.startswith("#")]
    names = [row[0] for row in rows]
    assert len(names) == len(set(names))
    assert all(len(row) == 2 and row[1].strip() for row in rows), "each package says what uses it"
    assert run("list").stdout.split() == names


def test_check_names_what_is_missing_and_the_command_that_installs_it(tmp_path):
    done = run("check", env=a_list_with_an_absent_package(tmp_path))
    assert done.returncode == 1
    assert f"missing {ABSENT}" in done.stderr and "make system" in done.stderr


def test_a_test_process_never_installs_it_fails_naming_make_system(tmp_path):
    assert os.environ["BFP_INSTALL_PACKAGES"] == "no"  # set for every test process by tests/conftest.py
    done = run("ensure", ABSENT, env=a_list_with_an_absent_package(tmp_path))
    assert done.returncode == 1
    assert f"missing {ABSENT}" in done.stderr and "make system" in done.stderr
    assert "installing" not in done.stderr


def test_an_undeclared_package_is_refused_so_the_list_stays_the_one_place(tmp_path):
    done = run("check", "cowsay")
    assert done.returncode == 1
    assert "cowsay is not declared" in done.stderr and str(DECLARED) in done.stderr


def test_a_second_installer_waits_for_the_first_and_says_what_it_waits_for(tmp_path):
    env = a_list_with_an_absent_package(tmp_path)
    with open(env["BFP_PACKAGES_LOCK"], "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another installer holds the lock
        waiting = subprocess.Popen(
            [str(SCRIPT), "install", ABSENT], env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
        )
        try:
            line = wait_until(waiting.stderr.readline, 30, "the waiting installer's message")
            assert "waiting for another install of system packages" in line
            assert env["BFP_PACKAGES_LOCK"] in line and ABSENT in line
            assert waiting.poll() is None  # still waiting: it installs nothing while the lock is held
        finally:
            waiting.kill()
            waiting.wait()
