"""Loopback senders for intake: PagerDuty v3, Rootly and incident.io webhook bodies in their published
shapes, signed as each sender signs them; and a PagerDuty REST stand-in answering `GET /users/{id}`.

PagerDuty v3: `{"event": {"id", "event_type", "resource_type": "incident", "occurred_at", "agent":
{user_reference}, "client", "data": {incident | incident_note | incident_responder}}}` signed
`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>` (one per secret during a rotation).
Rootly: `{"event": {"id", "type", "issued_at"}, "data": {incident}}`, `X-Rootly-Signature: t=<unix>,v1=<hex
HMAC-SHA256 of t + body>`. incident.io: `{"event_type": T, T: {incident}}` with Svix's `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PD_HOST = "https://acme.pagerduty.com"
PD_API = "https://api.pagerduty.com"


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pd_user(user_id: str = "PXPGF42", name: str = "Earline Greenholt") -> dict[str, Any]:
    return {"html_url": f"{PD_HOST}/users/{user_id}", "id": user_id, "self": f"{PD_API}/users/{user_id}",
            "summary": name, "type": "user_reference"}


def pd_incident(incident_id: str = "PGR0VU2", *, title: str = "The server is on fire.", created_at: datetime,
                urgency: str = "high", priority: str | None = "P1", status: str = "triggered",
                assignees: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A PagerDuty incident as v3 webhooks carry it in `event.data`."""
    return {
        "id": incident_id, "type": "incident", "self": f"{PD_API}/incidents/{incident_id}",
        "html_url": f"{PD_HOST}/incidents/{incident_id}", "number": 2, "status": status,
        "incident_key": "d3640fbd41094207a1c11e58e46b1662", "created_at": iso(created_at), "title": title,
        "service": {"html_url": f"{PD_HOST}/services/PF9KMXH", "id": "PF9KMXH", "self": f"{PD_API}/services/PF9KMXH",
                    "summary": "API Service", "type": "service_reference"},
        "assignees": assignees if assignees is not None else [pd_user()],
        "escalation_policy": {"html_url": f"{PD_HOST}/escalation_policies/PUS0KTE", "id": "PUS0KTE",
                              "self": f"{PD_API}/escalation_policies/PUS0KTE", "summary": "Default",
                              "type": "escalation_policy_reference"},
        "teams": [], "urgency": urgency, "conference_bridge": None, "resolve_reason": None,
        "priority": None if priority is None else {
            "html_url": f"{PD_HOST}/account/incident_priorities", "id": "PSO75BM", "self": f"{PD_API}/priorities/PSO75BM",
            "summary": priority, "type": "priority_reference"},
    }


def pd_event(event_type: str, *, occurred_at: datetime, data: dict[str, Any], event_id: str | None = None,
             agent: dict[str, Any] | None = None) -> dict[str, Any]:
    """A v3 webhook body: one event."""
    return {"event": {
        "id": event_id or f"01{uuid.uuid4().hex[:24].upper()}", "event_type": event_type, "resource_type": "incident",
        "occurred_at": iso(occurred_at), "agent": agent if agent is not None else pd_user(),
        "client": {"name": "PagerDuty"}, "data": data,
    }}


def pd_reference(incident_id: str) -> dict[str, Any]:
    return {"html_url": f"{PD_HOST}/incidents/{incident_id}", "id": incident_id,
            "self": f"{PD_API}/incidents/{incident_id}", "summary": "The server is on fire.", "type": "incident_reference"}


def pd_note(incident_id: str, content: str) -> dict[str, Any]:
    return {"incident": pd_reference(incident_id), "id": "P7XV1O1", "content": content, "trimmed": False,
            "type": "incident_note"}


def pd_responder(incident_id: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"incident": pd_reference(incident_id), "user": user, "escalation_policy": None,
            "message": "Please help with this incident", "state": "pending", "type": "incident_responder"}


def sign_pagerduty(body: bytes, *secrets: str) -> dict[str, str]:
    signatures = ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": signatures, "User-Agent": "PagerDuty-Webhook/V3.0"}


def rootly_incident(incident_id: str = "b7eed587-50e6-44fe-b010-7a2bb05d737a", *, title: str = "Sparkling Frost",
                    started_at: datetime, resolved_at: datetime | None = None, severity: str | None = "SEV1",
                    private: bool = False, status: str = "started") -> dict[str, Any]:
    return {
        "id": incident_id, "sequential_id": 19, "title": title, "slug": "sparkling-frost", "kind": "normal",
        "private": private, "summary": None, "status": status,
        "url": f"https://rootly.com/account/incidents/19-sparkling-frost",
        "severity": None if severity is None else {"id": "a1", "name": severity, "slug": severity.lower()},
        "started_at": iso(started_at), "mitigated_at": None,
        "resolved_at": iso(resolved_at) if resolved_at else None, "created_at": iso(started_at),
        "updated_at": iso(resolved_at or started_at),
    }


def rootly_event(event_type: str, *, issued_at: datetime, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"event": {"id": event_id or str(uuid.uuid4()), "type": event_type, "issued_at": iso(issued_at)}, "data": data}


def sign_rootly(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    t = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), t.encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Rootly-Signature": f"t={t},v1={digest}"}


def incidentio_incident(incident_id: str = "01FDAG4SAP5TYPT98WGR2N7W91", *, name: str = "Our database is sad",
                        created_at: datetime, updated_at: datetime | None = None, category: str = "live",
                        severity: str | None = "Major", visibility: str = "public") -> dict[str, Any]:
    return {
        "id": incident_id, "name": name, "reference": "INC-123", "summary": "Our database is really really sad",
        "permalink": "https://app.incident.io/incidents/123", "visibility": visibility,
        "severity": None if severity is None else {"id": "01FH5TZRWMNAFB0DZ23FD1TV96", "name": severity, "rank": 1,
                                                   "description": "Issues with **low impact**."},
        "incident_status": {"id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": category.title(), "category": category,
                            "rank": 4, "description": ""},
        "mode": "standard", "created_at": iso(created_at), "updated_at": iso(updated_at or created_at),
        "creator": {"user": {"id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Lisa Karlin Curtis",
                             "email": "lisa@incident.io", "role": "viewer"}},
    }


def incidentio_event(event_type: str, incident: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, event_type: incident}


def incidentio_secret(raw: bytes = b"intake-test-signing-key-32bytes!") -> str:
    return "whsec_" + base64.b64encode(raw).decode()


def sign_incidentio(body: bytes, secret: str, *, message_id: str | None = None, timestamp: int | None = None) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = message_id or f"msg_{uuid.uuid4().hex}"
    t = str(int(time.time()) if timestamp is None else timestamp)
    digest = base64.b64encode(hmac.new(key, f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": t,
            "webhook-signature": f"v1,{digest}"}


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@dataclass
class PagerDutyApi:
    """PagerDuty's REST `GET /users/{id}` on loopback: `users` maps ids to emails; `delay` hangs each answer."""

    users: dict[str, str] = field(default_factory=dict)
    token: str = "pd-token"
    delay: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)
    url: str = ""

    def __post_init__(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                api.requests.append((self.path, self.headers.get("Authorization", "")))
                if api.delay:
                    time.sleep(api.delay)
                if self.headers.get("Authorization") != f"Token token={api.token}":
                    return self._answer(401, {"error": {"message": "Unauthorized", "code": 2006}})
                parts = self.path.split("/")
                if len(parts) != 3 or parts[1] != "users" or parts[2] not in api.users:
                    return self._answer(404, {"error": {"message": "Not Found", "code": 2100}})
                user_id = parts[2]
                return self._answer(200, {"user": {
                    "id": user_id, "type": "user", "name": "Looked Up", "email": api.users[user_id],
                    "summary": "Looked Up", "self": f"{PD_API}/users/{user_id}", "html_url": f"{PD_HOST}/users/{user_id}",
                }})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its read timeout)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
