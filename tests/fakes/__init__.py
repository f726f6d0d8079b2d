"""Loopback stand-ins for Jira, Confluence and SMTP.

Each fake listens on the same port in every test of a session when it can (`preferred_port`),
so the app's settings that name it are the same and the session's app for them is reused.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_PORTS: dict[str, int] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def preferred_port(name: str) -> int:
    """A port for the fake called `name`, the same for the whole session."""
    if name not in _PORTS:
        _PORTS[name] = _free_port()
    return _PORTS[name]


def on_preferred_port(name: str, start: Callable[[int], T]) -> T:
    """`start(port)` on the session's port for `name`; on any port if something else took it meanwhile."""
    try:
        return start(preferred_port(name))
    except OSError:
        _PORTS.pop(name, None)
        return start(preferred_port(name))
