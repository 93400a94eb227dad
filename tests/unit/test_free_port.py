"""The ports the test stacks, the bench and the demo's helpers listen on (deploy.local.free_port).

A fresh-clone run once lost a test module's broker: its controller port (the chosen port + 1) was taken by
a client's outgoing connection between the choice and the broker binding it. Ports outside the kernel's
ephemeral range cannot be taken that way."""

from __future__ import annotations

import socket

from deploy import local


def test_ports_come_from_outside_the_ephemeral_range() -> None:
    ephemeral = local.ephemeral_ports()
    for _ in range(50):
        port = local.free_port(pair=True)
        assert port not in ephemeral and port + 1 not in ephemeral
        assert local.bindable(port) and local.bindable(port + 1)


def test_a_port_handed_out_is_not_handed_out_again() -> None:
    """Not even before its server binds it: a pair's controller port is not the PostgreSQL port next."""
    seen: set[int] = set()
    for _ in range(200):
        port = local.free_port(pair=True)
        single = local.free_port()
        assert not seen & {port, port + 1, single}
        seen |= {port, port + 1, single}


def test_a_port_something_listens_on_is_not_bindable() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        assert not local.bindable(held.getsockname()[1])
