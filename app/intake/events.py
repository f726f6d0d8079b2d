"""The senders' webhook payloads read into one shape, `IntakeEvent`; unknown event types read as None.

PagerDuty v3: `{"event": {"id", "event_type", "resource_type", "occurred_at", "agent", "data"}}`, where
`data` is the incident (`id`, `title`, `html_url`, `created_at`, `urgency`, `priority`, `assignees`)
or, for notes and responders, an object holding an `incident` reference.
Rootly: `{"event": {"id", "type", "issued_at"}, "data": {incident}}`.
incident.io: `{"event_type": T, T: {incident}}` (private incidents' events carry only the `id`); the
event id is the delivery's `webhook-id`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from app.core.errors import BadRequest
from app.core.schemas import EARLIEST_YEAR, LATEST_YEAR
from app.intake.models import Sender
from app.incidents.models import Severity
from config import Settings, parse_severity_map


class Action(StrEnum):
    """What an event does to its incident, beyond the timeline line it adds."""

    OPEN = "open"  # the sender's incident started: fixes started_at
    RESOLVE = "resolve"
    REOPEN = "reopen"
    SEVERITY = "severity"  # the severity follows the sender's priority
    NOTE = "note"  # a timeline line only
    UPDATE = "update"  # title and severity follow; no timeline line


@dataclass(frozen=True)
class IntakeEvent:
    """One sender event, read: which incident, what happened, when and by whom."""

    source: Sender
    event_id: str
    event_type: str
    action: Action
    ref: str
    occurred_at: datetime
    text: str = ""
    kind: str = "note"
    title: str | None = None
    url: str | None = None
    severity: Severity | None = None
    private: bool = False
    started_at: datetime | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    agent_email: str | None = None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _malformed(what: str, field: str) -> BadRequest:
    return BadRequest(f"The webhook body has no usable {what}.", code="malformed_webhook",
                      fields={field: "is missing or not what the sender sends"})


def _object(value: Any, what: str, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(what, field)
    return value


# A sender's incident id becomes the incident's external_id, "<source>:<id>", kept in 200 characters.
REF_LIMIT = 200 - len("incidentio:")


def _text(value: Any, what: str, field: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or _CONTROL.search(value):
        raise _malformed(what, field)
    return value.strip()


def _optional_text(value: Any, limit: int = 300) -> str | None:
    """One line of the sender's text (control characters become spaces), or None."""
    if not isinstance(value, str):
        return None
    line = _CONTROL.sub(" ", value).strip()
    return line[:limit] if line else None


def _note(value: Any) -> str:
    text = value.replace("\x00", "").strip() if isinstance(value, str) else ""
    return text[:20_000] if text else "(empty note)"


def _time(value: Any, what: str, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise _malformed(what, field)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _optional_time(value: Any) -> datetime | None:
    try:
        return _time(value, "", "")
    except BadRequest:
        return None


def _url(value: Any) -> str | None:
    text = _optional_text(value, 2000)
    return text if text and text.startswith(("https://", "http://")) else None


def severity_for(settings: Settings, *, name: str | None, urgency: str | None = None) -> Severity | None:
    """The sender's priority or severity name through HINDSIGHT_SEVERITY_MAP, then urgency (high = SEV1);
    None when the event names neither (the severity is left as it is)."""
    if name:
        mapped = parse_severity_map(settings.severity_map).get(name.strip().lower())
        if mapped:
            return Severity(mapped)
    if urgency:
        return Severity.SEV1 if urgency.lower() == "high" else Severity.SEV2
    return Severity.SEV2 if name else None


def _name_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return _optional_text(value.get("summary")) or _optional_text(value.get("name"))
    return _optional_text(value)


def _names(items: Any) -> str:
    names = [_name_of(item.get("assignee", item)) for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return ", ".join(name for name in names if name) or "someone"


# PagerDuty event type -> (action, timeline kind, timeline text given the incident data)
_PAGERDUTY = {
    "incident.triggered": (Action.OPEN, "status", lambda d: f"Triggered in PagerDuty: {_optional_text(d.get('title')) or ''}".rstrip(": ")),
    "incident.acknowledged": (Action.NOTE, "status", lambda d: "Acknowledged in PagerDuty"),
    "incident.reassigned": (Action.NOTE, "handoff", lambda d: f"Reassigned in PagerDuty to {_names(d.get('assignees'))}"),
    "incident.escalated": (Action.NOTE, "handoff", lambda d: f"Escalated in PagerDuty to {_names(d.get('assignees'))}"),
    "incident.responder.added": (
        Action.NOTE, "handoff", lambda d: f"{_name_of(d.get('user')) or 'A responder'} added as a responder in PagerDuty"),
    "incident.annotated": (Action.NOTE, "note", lambda d: _note(d.get("content"))),
    "incident.priority_updated": (
        Action.SEVERITY, "severity", lambda d: f"Priority changed in PagerDuty to {_name_of(d.get('priority')) or 'none'}"),
    "incident.resolved": (Action.RESOLVE, "status", lambda d: "Resolved in PagerDuty"),
    "incident.reopened": (Action.REOPEN, "status", lambda d: "Reopened in PagerDuty"),
}


def read_pagerduty(payload: Any, settings: Settings) -> IntakeEvent | None:
    """A PagerDuty v3 webhook body as an event; None for event types intake does not use."""
    event = _object(_object(payload, "event", "event").get("event"), "event", "event")
    event_type = _text(event.get("event_type"), "event type", "event.event_type", limit=100)
    if event_type not in _PAGERDUTY:
        return None
    action, kind, describe = _PAGERDUTY[event_type]
    data = _object(event.get("data"), "event data", "event.data")
    incident = _object(data.get("incident"), "incident", "event.data.incident") if "incident" in data else data
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    priority = _name_of(incident.get("priority"))
    full = incident is data  # notes and responders carry only a reference to the incident
    return IntakeEvent(
        source=Sender.PAGERDUTY, event_id=_text(event.get("id"), "event id", "event.id"), event_type=event_type,
        action=action, ref=_text(incident.get("id"), "incident id", "event.data.id", limit=REF_LIMIT),
        occurred_at=_time(event.get("occurred_at"), "occurred_at", "event.occurred_at"),
        text=describe(data), kind=kind,
        title=_optional_text(incident.get("title")) if full else None, url=_url(incident.get("html_url")),
        severity=severity_for(settings, name=priority, urgency=_optional_text(incident.get("urgency"))) if full else None,
        started_at=_optional_time(incident.get("created_at")),
        agent_id=_optional_text(agent.get("id"), 64), agent_name=_name_of(agent),
    )


_ROOTLY = {
    "incident.created": (Action.OPEN, "status", "Started in Rootly"),
    "incident.updated": (Action.UPDATE, "note", ""),
    "incident.mitigated": (Action.NOTE, "status", "Mitigated in Rootly"),
    "incident.resolved": (Action.RESOLVE, "status", "Resolved in Rootly"),
}


def read_rootly(payload: Any, settings: Settings) -> IntakeEvent | None:
    """A Rootly webhook body as an event; None for event types intake does not use."""
    event = _object(_object(payload, "event", "event").get("event"), "event", "event")
    event_type = _text(event.get("type"), "event type", "event.type", limit=100)
    if event_type not in _ROOTLY:
        return None
    action, kind, text = _ROOTLY[event_type]
    data = _object(payload.get("data"), "incident", "data")
    occurred_at = _time(event.get("issued_at"), "issued_at", "event.issued_at")
    if action == Action.RESOLVE:
        occurred_at = _optional_time(data.get("resolved_at")) or occurred_at
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    return IntakeEvent(
        source=Sender.ROOTLY, event_id=_text(event.get("id"), "event id", "event.id"), event_type=event_type,
        action=action, ref=_text(data.get("id"), "incident id", "data.id", limit=REF_LIMIT), occurred_at=occurred_at,
        text=text, kind=kind, title=_optional_text(data.get("title")), url=_url(data.get("url")),
        severity=severity_for(settings, name=_name_of(data.get("severity"))), private=data.get("private") is True,
        started_at=_optional_time(data.get("started_at")) or _optional_time(data.get("created_at")),
        agent_name=_name_of(user) or _optional_text(user.get("full_name")), agent_email=_optional_text(user.get("email")),
    )


_INCIDENTIO_RESOLVED = {"learning", "post-incident", "closed"}
_INCIDENTIO_OPEN = {"triage", "live", "active", "paused"}


def read_incidentio(payload: Any, settings: Settings, *, message_id: str) -> IntakeEvent | None:
    """An incident.io webhook body as an event (its id is the delivery's `webhook-id`); None for other types."""
    event_type = _text(_object(payload, "event type", "event_type").get("event_type"), "event type", "event_type", limit=100)
    visibility, _, name = event_type.partition(".")
    if visibility not in {"public_incident", "private_incident"} or not name.startswith(("incident_created", "incident_updated", "incident_status_updated")):
        return None
    body = _object(payload.get(event_type), "incident", event_type)
    incident = body.get("incident") if isinstance(body.get("incident"), dict) else body
    category = str(_object(incident.get("incident_status") or {}, "status", "incident_status").get("category") or "")
    if name.startswith("incident_created"):
        action, text = Action.OPEN, "Declared in incident.io"
    elif category in _INCIDENTIO_RESOLVED:
        action, text = Action.RESOLVE, "Resolved in incident.io"
    elif category in _INCIDENTIO_OPEN and name.startswith("incident_status_updated"):
        action, text = Action.REOPEN, f"Status changed in incident.io to {category}"
    else:
        action, text = Action.UPDATE, ""
    ref = _text(incident.get("id"), "incident id", f"{event_type}.id", limit=REF_LIMIT)
    occurred_at = _optional_time(incident.get("updated_at")) or _optional_time(incident.get("created_at"))
    if occurred_at is None:
        occurred_at = datetime.now(timezone.utc)  # a private incident's event carries no time: it happened now
    private = visibility == "private_incident" or incident.get("visibility") == "private"
    creator = incident.get("creator") if isinstance(incident.get("creator"), dict) else {}
    user = creator.get("user") if isinstance(creator.get("user"), dict) else {}
    return IntakeEvent(
        source=Sender.INCIDENTIO, event_id=_text(message_id, "webhook-id", "webhook-id"), event_type=event_type,
        action=action, ref=ref, occurred_at=occurred_at, text=text, kind="status",
        title=_optional_text(incident.get("name")), url=_url(incident.get("permalink")),
        severity=severity_for(settings, name=_name_of(incident.get("severity"))), private=private,
        started_at=_optional_time(incident.get("created_at")),
        agent_name=_name_of(user), agent_email=_optional_text(user.get("email")),
    )
