"""A loopback Slack and Microsoft Teams receiver: a real HTTP server that keeps what it was sent.

It speaks what Hindsight calls:
- `POST /slack/webhook`: a Slack incoming webhook (200 "ok"; errors as status + short text);
- `POST /api/chat.postMessage`: Slack's Web API with a bot token (200 `{"ok": true, ...}`, or
  200 `{"ok": false, "error": "..."}`; 401-free like Slack: a bad token is `invalid_auth`);
- `POST /teams/webhook`: a Teams Workflows webhook (202 for an Adaptive Card message).

It can be told to answer the next requests otherwise (`fail`: a status and body, a
`Retry-After`; `slack_error`: `{"ok": false}`), to answer slowly (`delay`), or to be down
(`stop`: connections refused) and come back on the same port (`start`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes import on_preferred_port

BOT_TOKEN = "xoxb-test-token"


@dataclass
class ChatRequest:
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        """The plain-text fallback (Slack) or the card's text blocks joined (Teams)."""
        if "text" in self.body:
            return self.body["text"]
        card = self.body["attachments"][0]["content"]
        texts = [block["text"] for block in card["body"]]
        texts += [f"{action['title']}: {action['url']}" for action in card.get("actions", [])]
        return "\n".join(texts)


@dataclass
class Planned:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"


class FakeChat:
    """The receiver; `requests` holds every request that was answered, in order (failed ones too)."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.requests: list[ChatRequest] = []
        self.planned: list[Planned] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- behaviour --------------------------------------------------------------------
    def fail(self, status: int = 500, body: str = "internal_error", *, times: int = 1,
             retry_after: str | None = None) -> None:
        """Answer the next `times` requests with `status` and `body` (and `Retry-After`, if given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.planned += [Planned(status, body, headers) for _ in range(times)]

    def slack_error(self, error: str, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next requests as chat.postMessage does a failure: 200 `{"ok": false, "error": ...}`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.planned += [Planned(200, json.dumps({"ok": False, "error": error}), headers, "application/json")
                             for _ in range(times)]

    def start(self) -> None:
        self._server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- what arrived -----------------------------------------------------------------
    def received(self, path: str | None = None, *, ok_only: bool = True) -> list[ChatRequest]:
        with self.lock:
            found = list(self.requests)
        return [r for r in found if (path is None or r.path == path) and (not ok_only or r.headers.get("x-answered") == "ok")]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.planned.clear()
            self.delay = 0.0

    # -- settings -----------------------------------------------------------------------
    def slack_webhook_settings(self, **extra: Any) -> dict[str, Any]:
        return {"webhook_url": f"{self.url}/slack/webhook"} | extra

    def slack_bot_settings(self, **extra: Any) -> dict[str, Any]:
        return {"bot_token": BOT_TOKEN, "channel": "#retros", "api_url": f"{self.url}/api"} | extra

    def teams_settings(self, **extra: Any) -> dict[str, Any]:
        return {"webhook_url": f"{self.url}/teams/webhook"} | extra


def _handler(fake: FakeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if fake.delay:
                time.sleep(fake.delay)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = json.loads(raw)
            except ValueError:
                self._answer(Planned(400, "invalid_payload"))
                return
            with fake.lock:
                planned = fake.planned.pop(0) if fake.planned else None
            if planned is None:
                planned = self._normal(headers, body)
            headers["x-answered"] = "ok" if planned.status < 300 and '"ok": false' not in planned.body else "failed"
            with fake.lock:
                fake.requests.append(ChatRequest(self.path, headers, body))
            self._answer(planned)

        def _normal(self, headers: dict[str, str], body: Any) -> Planned:
            if self.path == "/slack/webhook":
                if not isinstance(body.get("text"), str):
                    return Planned(400, "invalid_payload")
                return Planned(200, "ok")
            if self.path == "/api/chat.postMessage":
                if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                    return Planned(200, json.dumps({"ok": False, "error": "invalid_auth"}), {}, "application/json")
                if not body.get("channel"):
                    return Planned(200, json.dumps({"ok": False, "error": "channel_not_found"}), {}, "application/json")
                answer = {"ok": True, "channel": "C0123", "ts": f"{time.time():.6f}", "message": {"text": body.get("text")}}
                return Planned(200, json.dumps(answer), {}, "application/json")
            if self.path == "/teams/webhook":
                attachment = (body.get("attachments") or [{}])[0]
                if body.get("type") != "message" or attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
                    return Planned(400, "Bad Request")
                return Planned(202, "")
            return Planned(404, "no_service")

        def _answer(self, planned: Planned) -> None:
            data = planned.body.encode()
            self.send_response(planned.status)
            self.send_header("Content-Type", planned.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in planned.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def chat_server() -> Iterator[FakeChat]:
    def start(port: int) -> FakeChat:
        started = FakeChat(port=port)
        started.start()
        return started

    server = on_preferred_port("chat", start)
    try:
        yield server
    finally:
        server.stop()
