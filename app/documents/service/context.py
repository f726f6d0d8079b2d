"""What a document template sees: plain data about the incident, its team, timeline and rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.incidents.service import timeline_rows
from app.retros.models import Retrospective
from config import Settings

ROLE_LABELS = {
    "commander": "Incident commander", "scribe": "Scribe", "communications_lead": "Communications lead",
    "executive_sponsor": "Executive sponsor", "legal_counsel": "Legal counsel", "data_analyst": "Data analyst",
    "customer_support_lead": "Customer support lead", "subject_matter_expert": "Subject matter expert",
}


def _when(value: datetime | None, settings: Settings) -> str:
    return value.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or end < start:
        return ""
    minutes = int((end - start).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours else []) + [f"{minutes} min"]
    return " ".join(parts)


def template_context(session: Session, *, retro: Retrospective, settings: Settings) -> dict[str, Any]:
    """What a template sees: plain data about the incident, its team, timeline, links and rules."""
    incident = retro.incident
    commander = incident.commander
    person = lambda p: {"name": p.name, "email": p.email} if p is not None else None  # noqa: E731
    return {
        "incident": {
            "id": incident.id, "title": incident.title, "severity": incident.severity,
            "status": incident.status, "visibility": incident.visibility,
            "description": incident.description or "", "commander": person(commander),
            "started_at": _when(incident.started_at, settings),
            "detected_at": _when(incident.detected_at, settings),
            "resolved_at": _when(incident.resolved_at, settings),
            "time_to_detect": _duration(incident.started_at, incident.detected_at),
            "duration": _duration(incident.started_at, incident.resolved_at),
            "url": f"{settings.base_url}/incidents/{incident.id}",
        },
        "retro": {
            "id": retro.id, "deadline_at": _when(retro.deadline_at, settings),
            "scheduled_for": _when(retro.scheduled_for, settings),
            "facilitator": person(retro.facilitator),
            "participants": [person(p.person) for p in retro.participants],
        },
        "team": [
            {
                "name": role.person.name, "email": role.person.email, "role": role.role,
                "role_label": ROLE_LABELS.get(role.role, role.role.replace("_", " ")),
                "from": _when(role.started_at, settings), "until": _when(role.ended_at, settings),
                "handed_to": role.handed_to.name if role.handed_to else "",
            }
            for role in incident.roles
        ],
        "responders": [person(p) for p in incident.responders()],
        "links": [{"title": link.title, "url": link.url} for link in incident.links],
        "ground_rules": list(settings.retro.ground_rules),
        "timeline": [
            {"when": _when(row["occurred_at"], settings), "text": row["text"], "author": row["author"] or "",
             "kind": row["kind"]}
            for row in timeline_rows(session, incident_id=incident.id)
        ],
    }


def sample_context() -> dict[str, Any]:
    """A made-up context for trial renders of custom templates and for listing built-in sections."""
    person = {"name": "Sam Sample", "email": "sam@example.com"}
    return {
        "incident": {
            "id": 1, "title": "Sample incident", "severity": "SEV1", "status": "resolved",
            "visibility": "public", "description": "What happened.", "commander": person,
            "started_at": "2026-01-05 09:00 UTC", "detected_at": "2026-01-05 09:04 UTC",
            "resolved_at": "2026-01-05 10:30 UTC", "time_to_detect": "4 min", "duration": "1 h 30 min",
            "url": "http://localhost:8000/incidents/1",
        },
        "retro": {"id": 1, "deadline_at": "2026-01-08 10:30 UTC", "scheduled_for": "", "facilitator": person,
                  "participants": [person]},
        "team": [{"name": "Sam Sample", "email": "sam@example.com", "role": "commander",
                  "role_label": "Incident commander", "from": "2026-01-05 09:04 UTC", "until": "",
                  "handed_to": ""}],
        "responders": [person],
        "links": [{"title": "Dashboard", "url": "https://example.com/dashboard"}],
        "ground_rules": ["We are here to learn, not to blame."],
        "timeline": [{"when": "2026-01-05 09:04 UTC", "text": "Alert fired.", "author": "PagerDuty",
                      "kind": "detection"}],
    }
