"""A loopback Confluence: a real HTTP server in a thread speaking the REST v1 endpoints of PROTOCOLS.md.

Pages live in memory. Switches make it misbehave the way Confluence does:
`fail_next(status)` (e.g. 500, 503, 504), `rate_limit_next(times, retry_after)` (429 with
Retry-After), `edit_in_confluence(page_id)` (someone saves in Confluence, so our next
update carries a stale version and gets the real 409), `conflict_next()` (a forced 409),
`delay_next(seconds)` (a slow answer, for timeouts).
Storage bodies must be well-formed XML, as Confluence demands, or the request gets 400.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

AC_NS = "http://atlassian.com/content"
RI_NS = "http://atlassian.com/resource/identifier"


def parse_storage(value: str) -> ET.Element:
    """Parse a storage-format fragment as XML, declaring the ac: and ri: namespaces (raises ParseError)."""
    return ET.fromstring(f'<root xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}">{value}</root>')


@dataclass
class FakePage:
    id: str
    title: str
    space: str
    version: int
    body: str
    ancestors: list[str] = field(default_factory=list)


class FakeConfluence:
    """Start with `with FakeConfluence() as fake:`; give the app `fake.url`, `fake.user`, `fake.token`."""

    def __init__(self, *, user: str = "bot@example.com", token: str = "s3cret", space: str = "RETRO",
                 context_path: str = "/wiki", port: int = 0) -> None:
        self.user = user
        self.token = token
        self.space = space
        self.context_path = context_path
        self.pages: dict[str, FakePage] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._forced: deque[tuple[int, dict[str, str], dict[str, Any]]] = deque()
        self._next_id = 1000
        self._delays: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{self.context_path}"

    def __enter__(self) -> FakeConfluence:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- switches -------------------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
                  message: str = "Something went wrong") -> None:
        """Answer the next `times` requests with `status` (and these headers), whatever they ask."""
        for _ in range(times):
            self._forced.append((status, headers or {}, {"statusCode": status, "message": message}))

    def rate_limit_next(self, times: int = 1, *, retry_after: str = "0") -> None:
        """Answer the next `times` requests with 429 and Retry-After."""
        self.fail_next(429, times=times, headers={"Retry-After": retry_after}, message="Rate limit exceeded")

    def conflict_next(self) -> None:
        """Answer the next request with a 409 version conflict."""
        self.fail_next(409, message="Version must be incremented on update.")

    def delay_next(self, seconds: float) -> None:
        """Answer the next request only after `seconds`."""
        self._delays.append(seconds)

    def add_page(self, title: str, body: str = "<p>parent</p>", *, space: str | None = None) -> FakePage:
        """A page that exists already (a parent page, or one someone else made)."""
        with self._lock:
            return self._create(title, space or self.space, body, [])

    def edit_in_confluence(self, page_id: str, body: str = "<p>edited in Confluence</p>") -> None:
        """Someone saves the page in Confluence: its version moves on."""
        with self._lock:
            page = self.pages[page_id]
            page.version += 1
            page.body = body

    def calls(self, method: str | None = None) -> list[tuple[str, str, Any]]:
        return [c for c in self.requests if method is None or c[0] == method]

    # -- the protocol ---------------------------------------------------------------------------------

    def _create(self, title: str, space: str, body: str, ancestors: list[str]) -> FakePage:
        self._next_id += 1
        page = FakePage(str(self._next_id), title, space, 1, body, ancestors)
        self.pages[page.id] = page
        return page

    def _json(self, page: FakePage, *, with_body: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": page.id, "type": "page", "status": "current", "title": page.title,
            "space": {"key": page.space}, "version": {"number": page.version},
            "ancestors": [{"id": a} for a in page.ancestors],
            "_links": {
                "base": self.url,
                "webui": f"/spaces/{page.space}/pages/{page.id}",
                "self": f"{self.url}/rest/api/content/{page.id}",
            },
        }
        if with_body:
            data["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        return data

    @staticmethod
    def _error(status: int, message: str) -> Response:
        reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
        body = {"statusCode": status, "message": message, "reason": reason, "data": {"authorized": status != 401}}
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _authorised(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        payload = request.get_json(silent=True)
        self.requests.append((request.method, request.full_path.rstrip("?"), payload))
        if self._delays:
            time.sleep(self._delays.popleft())
        with self._lock:
            if self._forced:
                status, headers, body = self._forced.popleft()
                return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
            if not self._authorised(request):
                return self._error(401, "Basic authentication with the API token is required.")
            prefix = f"{self.context_path}/rest/api/content"
            path = request.path
            if not path.startswith(prefix):
                return self._error(404, f"No endpoint {path}")
            rest = path[len(prefix):].strip("/")
            if request.method == "GET" and not rest:
                return self._find(request)
            if request.method == "POST" and not rest:
                return self._post(payload)
            if request.method == "GET" and rest:
                page = self.pages.get(rest)
                if page is None:
                    return self._error(404, f"No content with id {rest}")
                expand = request.args.get("expand", "")
                return Response(json.dumps(self._json(page, with_body="body.storage" in expand)),
                                content_type="application/json")
            if request.method == "PUT" and rest:
                return self._put(rest, payload)
            return self._error(405, "Method not allowed")

    def _find(self, request: Request) -> Response:
        space, title = request.args.get("spaceKey"), request.args.get("title")
        found = [p for p in self.pages.values() if p.space == space and (title is None or p.title == title)]
        body = {"results": [self._json(p) for p in found], "size": len(found), "start": 0, "limit": 25}
        return Response(json.dumps(body), content_type="application/json")

    def _storage(self, payload: dict[str, Any]) -> str | Response:
        try:
            value = payload["body"]["storage"]["value"]
            if payload["body"]["storage"].get("representation") != "storage":
                return self._error(400, "Only the storage representation is accepted here.")
        except (KeyError, TypeError):
            return self._error(400, "body.storage.value is required")
        try:
            parse_storage(value)
        except ET.ParseError as exc:
            return self._error(400, f"Error parsing xhtml: {exc}")
        return value

    def _post(self, payload: Any) -> Response:
        if not isinstance(payload, dict) or payload.get("type") != "page" or not payload.get("title"):
            return self._error(400, "A page needs a type and a title.")
        space = (payload.get("space") or {}).get("key")
        if space != self.space:
            return self._error(404, f"No space with key {space}")
        storage = self._storage(payload)
        if isinstance(storage, Response):
            return storage
        ancestors = [str(a.get("id")) for a in payload.get("ancestors") or []]
        for ancestor in ancestors:
            if ancestor not in self.pages:
                return self._error(404, f"No parent page with id {ancestor}")
        if any(p.space == space and p.title == payload["title"] for p in self.pages.values()):
            return self._error(400, "A page with this title already exists: A page already exists with the same "
                                    "TITLE in this space")
        page = self._create(payload["title"], space, storage, ancestors)
        return Response(json.dumps(self._json(page, with_body=True)), content_type="application/json")

    def _put(self, page_id: str, payload: Any) -> Response:
        page = self.pages.get(page_id)
        if page is None:
            return self._error(404, f"No content with id {page_id}")
        if not isinstance(payload, dict):
            return self._error(400, "A JSON body is required")
        number = (payload.get("version") or {}).get("number")
        if number != page.version + 1:
            return self._error(409, f"Version must be incremented on update. Current version is: {page.version}")
        storage = self._storage(payload)
        if isinstance(storage, Response):
            return storage
        page.title = payload.get("title") or page.title
        page.body = storage
        page.version = number
        return Response(json.dumps(self._json(page, with_body=True)), content_type="application/json")
