"""support.net.free_port: ports a server can still bind when the suite is busy."""

from __future__ import annotations

import socket

from support import net


def test_free_ports_are_distinct_bindable_and_below_the_kernels_ephemeral_range():
    first_ephemeral = int(net.EPHEMERAL_RANGE.read_text().split()[0])
    ports = [net.free_port() for _ in range(200)]

    assert len(set(ports)) == 200  # never the same port twice in one process
    assert all(net.LOWEST_PORT <= port < first_ephemeral for port in ports)  # no outgoing connection takes them
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))


class Picks:
    """Stands in for the random choice only: the ports to try, in order."""

    def __init__(self, *ports: int):
        self.ports = iter(ports)

    def randrange(self, *_bounds: int) -> int:
        return next(self.ports)


def test_a_port_in_use_or_handed_out_before_is_skipped(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        in_use = taken.getsockname()[1]
        handed_out = net.free_port()
        fresh = next(port for port in range(net.LOWEST_PORT, 20_000) if port not in net._handed_out and bindable(port))
        monkeypatch.setattr(net, "_random", Picks(in_use, handed_out, fresh))

        assert net.free_port() == fresh


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
