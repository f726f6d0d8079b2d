"""Applying a sender's event: find who did it (PagerDuty's API, outside any transaction), then the incident,
its timeline line, and a resolution or reopening through the incidents' own workflow (which books the
retro, or withdraws one not yet scheduled)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import call_outside
from app.incidents import flows as incidents
from app.incidents.models import Incident, IncidentStatus
from app.incidents.schemas import IncidentUpdate
from app.intake import service
from app.intake.events import Action, IntakeEvent
from app.intake.models import Sender
from app.people.service import find_person
from config import Settings
from integrations import pagerduty

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """What one delivery did: `applied`, `duplicate` (seen before) or `ignored` (a type intake does not use)."""

    outcome: str
    incident_id: int | None = None


def receive(session: Session, *, event: IntakeEvent | None, settings: Settings) -> Received:
    """Apply `event` once, in whatever order the sender's events arrive."""
    if event is None:
        return Received("ignored")
    author = _author(session, event=event, settings=settings)
    if not service.claim_delivery(session, event=event):
        return Received("duplicate")
    link, incident = service.incident_of(session, event=event)
    service.apply_details(link=link, incident=incident, event=event)
    service.add_line(session, incident=incident, event=event, author=author)
    if event.action in (Action.RESOLVE, Action.REOPEN) and service.status_is_newer(link=link, event=event):
        if event.action == Action.RESOLVE:
            _resolve(session, incident=incident, event=event, settings=settings)
        elif incident.status == IncidentStatus.RESOLVED:
            change = IncidentUpdate.model_validate({"status": IncidentStatus.INVESTIGATING})
            incidents.update_incident(session, incident=incident, data=change, actor=None, settings=settings)
    session.flush()
    return Received("applied", incident.id)


def _resolve(session: Session, *, incident: Incident, event: IntakeEvent, settings: Settings) -> None:
    resolved_at = service.when(event)
    if incident.status == IncidentStatus.RESOLVED and incident.resolved_at == resolved_at:
        return
    if incident.started_at > resolved_at:
        incident.started_at = resolved_at  # a placeholder's start never follows its resolution
    change = IncidentUpdate.model_validate({"status": IncidentStatus.RESOLVED, "resolved_at": resolved_at})
    incidents.update_incident(session, incident=incident, data=change, actor=None, settings=settings)


def _author(session: Session, *, event: IntakeEvent, settings: Settings) -> str | None:
    """The person who did it, by name, when their email is known (in the event, stored, or looked up once
    through PagerDuty's API); otherwise the name the sender gives."""
    email = event.agent_email
    if email is None and event.agent_id and event.source == Sender.PAGERDUTY:
        known = service.sender_user(session, source=event.source, user_id=event.agent_id)
        if known is not None:
            email = known.email
        elif settings.pagerduty.api_token:
            email = _look_up(session, user_id=event.agent_id, settings=settings)
    person = find_person(session, email) if email else None
    return person.name if person is not None else event.agent_name


def _look_up(session: Session, *, user_id: str, settings: Settings) -> str | None:
    config = pagerduty.PagerDutyConfig(
        token=settings.pagerduty.api_token, url=settings.pagerduty.api_url,
        timeout_seconds=settings.pagerduty.timeout_seconds,
    )
    try:
        # Nothing is written yet: committing the reads leaves no transaction open during the call.
        email = call_outside(session, lambda: pagerduty.user_email(config, user_id))
    except pagerduty.PagerDutyError as exc:
        log.warning("PagerDuty user %s not looked up (%s); the event keeps the agent's name", user_id, exc)
        return None
    service.remember_user(session, source=Sender.PAGERDUTY, user_id=user_id, email=email, looked_up=True)
    return email
