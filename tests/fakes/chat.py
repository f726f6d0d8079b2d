"""A loopback Slack and Microsoft Teams receiver: a real HTTP server that keeps what it was sent.

It answers as the real services do (Slack's "Handling errors" of incoming webhooks and its
Web API's rate-limit guide; Microsoft's Workflows "post to a channel when a webhook request
is received"):
- `POST /slack/webhook`: a Slack incoming webhook: 200 "ok"; errors as a 4xx status with a
  plain-text body (400 `invalid_payload` or `no_text`, 403 `action_prohibited`, 404
  `channel_not_found` / `no_service`, 410 `channel_is_archived`), 500 `rollup_error`;
- `POST /api/chat.postMessage`: Slack's Web API with a bot token: 200 `{"ok": true, ...}`, and
  every error as 200 `{"ok": false, "error": "..."}` (a bad token is `invalid_auth`, a channel it
  does not know `channel_not_found`), except rate limiting: 429 with `Retry-After` in seconds
  and `{"ok": false, "error": "ratelimited"}`;
- `POST /teams/webhook`: a Teams Workflows webhook: 202 for a message carrying an Adaptive Card
  (`type` "message", `attachments[0].contentType` "application/vnd.microsoft.card.adaptive",
  its `content` of `type` "AdaptiveCard" with a `version` and a `body` list), 400 otherwise.
Any of them rate-limits with 429 and `Retry-After` (`rate_limit`).

It can be told to answer the next requests otherwise (`fail`: a status and body, a
`Retry-After`; `slack_error`: `{"ok": false}`; `rate_limit`: each endpoint's 429), to answer
slowly (`delay`) or trickle its answer in (`trickle`), to run a callback while a request
waits for its answer (`while_answering`), or to be down (`stop`: connections refused) and come back on the same port (`start`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes import on_preferred_port

BOT_TOKEN = "xoxb-test-token"
# The channels the bot token may post to (by name and by id), as chat.postMessage knows them.
BOT_CHANNELS = {"#retros", "retros", "C0123"}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


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
    # A 429 whose body is decided by the path it answers (each service words it its own way).
    rate_limited: bool = False


class FakeChat:
    """The receiver; `requests` holds every request that was answered, in order (failed ones too)."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.requests: list[ChatRequest] = []
        self.planned: list[Planned] = []
        self.delay = 0.0
        # Seconds between the bytes of an answer's body (padded to `trickle_bytes`): each read is quick,
        # the whole answer is not, which a read timeout does not bound.
        self.trickle = 0.0
        self.trickle_bytes = 8
        self.on_request: Callable[[], None] | None = None
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

    def slack_error(self, error: str, *, times: int = 1) -> None:
        """Answer the next requests as chat.postMessage does a failure: 200 `{"ok": false, "error": ...}`."""
        if error == "ratelimited":
            raise ValueError("Slack answers a rate limit with 429 and Retry-After, never 200: use rate_limit()")
        with self.lock:
            self.planned += [Planned(200, json.dumps({"ok": False, "error": error}), {}, "application/json")
                             for _ in range(times)]

    def rate_limit(self, retry_after: str = "30", *, times: int = 1) -> None:
        """Answer the next requests with 429 and `Retry-After`, worded as the endpoint asked words it."""
        with self.lock:
            self.planned += [Planned(429, headers={"Retry-After": retry_after}, rate_limited=True) for _ in range(times)]

    def while_answering(self, callback: Callable[[], None]) -> None:
        """Run `callback` once, while the next request waits for its answer (its planned answer already chosen)."""
        self.on_request = callback

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
            self.trickle = 0.0
            self.on_request = None

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
                callback, fake.on_request = fake.on_request, None
            if planned is None:
                planned = self._normal(headers, body)
            elif planned.rate_limited:
                planned = self._rate_limited(planned)
            headers["x-answered"] = "ok" if planned.status < 300 and '"ok": false' not in planned.body else "failed"
            with fake.lock:
                fake.requests.append(ChatRequest(self.path, headers, body))
            if callback is not None:
                callback()
            self._answer(planned)

        def _rate_limited(self, planned: Planned) -> Planned:
            if self.path == "/api/chat.postMessage":
                return Planned(429, json.dumps({"ok": False, "error": "ratelimited"}), planned.headers, "application/json")
            if self.path == "/teams/webhook":
                error = {"error": {"code": "TooManyRequests", "message": "Rate limit is exceeded."}}
                return Planned(429, json.dumps(error), planned.headers, "application/json")
            return Planned(429, "rate_limited", planned.headers)

        def _normal(self, headers: dict[str, str], body: Any) -> Planned:
            if not isinstance(body, dict):
                return Planned(400, "invalid_payload")
            if self.path == "/slack/webhook":
                if not isinstance(body.get("blocks", []), list):
                    return Planned(400, "invalid_blocks")
                if not (isinstance(body.get("text"), str) and body["text"].strip()):
                    return Planned(400, "no_text")
                return Planned(200, "ok")
            if self.path == "/api/chat.postMessage":
                if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                    return _slack_api_error("invalid_auth")
                if body.get("channel") not in BOT_CHANNELS:
                    return _slack_api_error("channel_not_found")
                if not (isinstance(body.get("text"), str) and body["text"].strip()) and not body.get("blocks"):
                    return _slack_api_error("no_text")
                answer = {"ok": True, "channel": "C0123", "ts": f"{time.time():.6f}", "message": {"text": body.get("text")}}
                return Planned(200, json.dumps(answer), {}, "application/json")
            if self.path == "/teams/webhook":
                problem = adaptive_card_problem(body)
                if problem:
                    error = {"error": {"code": "InvalidRequestContent", "message": problem}}
                    return Planned(400, json.dumps(error), {}, "application/json")
                return Planned(202, "")
            return Planned(404, "no_service")

        def _answer(self, planned: Planned) -> None:
            trickle = fake.trickle
            data = (planned.body.ljust(fake.trickle_bytes) if trickle else planned.body).encode()
            self.send_response(planned.status)
            self.send_header("Content-Type", planned.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in planned.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not trickle:
                self.wfile.write(data)
                return
            for byte in data:
                time.sleep(trickle)
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    return Handler


def _slack_api_error(error: str) -> Planned:
    return Planned(200, json.dumps({"ok": False, "error": error}), {}, "application/json")


def adaptive_card_problem(body: dict[str, Any]) -> str | None:
    """What keeps `body` from being a Workflows webhook's Adaptive Card message; None when it is one."""
    if body.get("type") != "message":
        return "type must be 'message'"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments or not isinstance(attachments[0], dict):
        return "attachments must be a list of at least one card"
    attachment = attachments[0]
    if attachment.get("contentType") != ADAPTIVE_CARD:
        return f"attachments[0].contentType must be '{ADAPTIVE_CARD}'"
    card = attachment.get("content")
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return "attachments[0].content.type must be 'AdaptiveCard'"
    if not isinstance(card.get("version"), str) or not card["version"]:
        return "attachments[0].content.version is required"
    if not isinstance(card.get("body"), list):
        return "attachments[0].content.body must be a list"
    return None


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
