"""Ports and waiting, for tests, drills and benchmarks alike."""

from __future__ import annotations

import functools
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000
_handed_out: set[int] = set()
_lock = threading.Lock()
_random = random.SystemRandom()  # not the `random` module's state, which a test may seed alike in two processes


@functools.cache
def _first_ephemeral_port() -> int:
    """The lowest port the kernel hands out for outgoing connections (Linux's default range starts at 32768)."""
    return int(EPHEMERAL_RANGE.read_text().split()[0]) if EPHEMERAL_RANGE.exists() else 32768


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1, never handed out before by this process, and below the
    kernel's ephemeral range: a port the kernel picks itself (bind to 0) is from that range, where every
    outgoing connection also takes its source port, so under a busy suite a client's connection could take it
    before the server binds it."""
    first_ephemeral = _first_ephemeral_port()
    with _lock:
        for _ in range(1000):
            port = _random.randrange(LOWEST_PORT, max(first_ephemeral, LOWEST_PORT + 1000))
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:  # in use
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {LOWEST_PORT} and {first_ephemeral}")


def wait_until(
    condition: Callable[[], T], seconds: float, what: str, every: float = 0.05, ignore: tuple[type, ...] = ()
) -> T:
    """Polls `condition` until it returns a truthy value (returned) or `seconds` pass (AssertionError naming
    `what`). Exceptions of the `ignore` types count as "not yet" (a row or a task not there yet); any other
    propagates at once."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(every)
