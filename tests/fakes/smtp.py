"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed.

It can be told to refuse messages with a 4xx or 5xx reply (at RCPT or at DATA), to
require a login, or to be down (nothing listening: connections refused) and come
back on the same port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes import on_preferred_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        # A folded header unfolds to a leading space, which mail clients drop too.
        return str(self.message["Subject"]).strip()

    def part(self, content_type: str) -> str:
        """The decoded text of the first part with this content type (e.g. "text/html")."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                content = part.get_content()
                return content.decode("utf-8") if isinstance(content, bytes) else content
        raise AssertionError(f"no {content_type} part in {self.subject!r}")

    def attachment(self, filename: str) -> bytes:
        for part in self.message.walk():
            if part.get_filename() == filename:
                return part.get_payload(decode=True)
        raise AssertionError(f"no attachment {filename} in {self.subject!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: FakeSmtp) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.server.rcpt_reply
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.server.data_reply
        if reply is not None:
            with self.server.lock:
                self.server.refused += 1
            return reply
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


class FakeSmtp:
    """The server; `received` holds every accepted message in order."""

    def __init__(self, *, login: tuple[str, str] | None = None, port: int = 0) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.login = login
        self.received: list[Received] = []
        self.logins: list[str] = []
        self.refused = 0
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    # -- behaviour --------------------------------------------------------------------
    def refuse(self, reply: str = "451 4.3.0 Try again later", *, at: str = "DATA") -> None:
        """Refuse every message with `reply`, at RCPT or at DATA."""
        if at == "RCPT":
            self.rcpt_reply = reply
        else:
            self.data_reply = reply

    def accept(self) -> None:
        self.rcpt_reply = self.data_reply = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.login is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.login is not None:
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == self.login:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # -- what arrived -----------------------------------------------------------------
    def messages(self, to: str | None = None) -> list[Received]:
        with self.lock:
            found = list(self.received)
        return [m for m in found if to is None or to in m.rcpt_tos]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.refused = 0

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The [smtp] settings that point Hindsight at this server."""
        return {"host": self.host, "port": self.port, "timeout_seconds": 5} | extra


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    def start(port: int) -> FakeSmtp:
        started = FakeSmtp(port=port)
        started.start()
        return started

    server = on_preferred_port("smtp", start)
    try:
        yield server
    finally:
        server.stop()
