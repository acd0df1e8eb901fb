"""Ports and waiting, for tests, drills and benchmarks alike."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
