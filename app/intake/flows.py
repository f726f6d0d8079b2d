"""Intake's workflows. A sender's event: find who did it (PagerDuty's API, outside any transaction), then the
incident, its timeline line, and a resolution or reopening through the incidents' own workflow (which
books the retro, or withdraws one not yet scheduled). The generic intake: any tool creates or updates an
incident by its own id (`PUT /incidents/external/...`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import Conflict, ValidationFailed
from app.db import call_outside
from app.incidents import flows as incidents
from app.incidents import service as incident_service
from app.incidents.access import visible_incidents
from app.incidents.models import Incident, IncidentStatus, Visibility
from app.incidents.schemas import IncidentCreate, IncidentUpdate
from app.intake import service
from app.intake.events import Action, IntakeEvent
from app.intake.models import Sender
from app.intake.schemas import ExternalIncidentPut
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
    """Apply `event` once, in whatever order the sender's events arrive.

    An event that only adds a timeline line to a known incident (most of them) is one insert that its
    line's unique key makes idempotent; any other is claimed in the deliveries first and applied on its
    incident's link row, locked.
    """
    if event is None:
        return Received("ignored")
    if event.action == Action.NOTE:
        # Most events: one statement, unless its author may need looking up in PagerDuty.
        may_look_up = event.source == Sender.PAGERDUTY and event.agent_id is not None and bool(settings.pagerduty.api_token)
        incident_id = service.add_known_line(session, event=event, stored_user_only=may_look_up)
        if incident_id is not None:
            return Received("applied", incident_id)
    found = service.known(session, event=event)
    author = _author(session, event=event, found=found, settings=settings)
    if event.action == Action.NOTE and found.incident_id is not None:
        added = service.add_line(session, incident_id=found.incident_id, event=event, author=author)
        return Received("applied" if added else "duplicate", found.incident_id)
    if not service.claim_delivery(session, event=event):
        return Received("duplicate")
    link, incident = service.incident_of(session, event=event, linked=found.incident_id is not None)
    service.add_line(session, incident_id=incident.id, event=event, author=author)
    if event.action in (Action.RESOLVE, Action.REOPEN) and service.status_is_newer(link=link, event=event):
        if event.action == Action.RESOLVE:
            _resolve(session, incident=incident, event=event, settings=settings)
        elif incident.status == IncidentStatus.RESOLVED:
            change = IncidentUpdate.model_validate({"status": IncidentStatus.INVESTIGATING})
            incidents.update_incident(session, incident=incident, data=change, actor=None, settings=settings)
    session.flush()
    return Received("applied", incident.id)


def _resolve(session: Session, *, incident: Incident, event: IntakeEvent, settings: Settings) -> None:
    if incident.status == IncidentStatus.RESOLVED:
        return  # still the same resolution (incident.io sends every later update of a closed incident)
    resolved_at = service.when(event)
    if incident.started_at > resolved_at:
        incident.started_at = resolved_at  # a placeholder's start never follows its resolution
    change = IncidentUpdate.model_validate({"status": IncidentStatus.RESOLVED, "resolved_at": resolved_at})
    incidents.update_incident(session, incident=incident, data=change, actor=None, settings=settings)


def _author(session: Session, *, event: IntakeEvent, found: service.Known, settings: Settings) -> str | None:
    """The person who did it, by name, when their email is known (in the event, stored, or looked up once
    through PagerDuty's API); otherwise the name the sender gives."""
    if found.author:
        return found.author
    unknown_pagerduty_user = event.source == Sender.PAGERDUTY and event.agent_id and not found.sender_user_known
    if unknown_pagerduty_user and settings.pagerduty.api_token:
        email = _look_up(session, user_id=event.agent_id or "", settings=settings)
        person = find_person(session, email) if email else None
        if person is not None:
            return person.name
    return event.agent_name


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


CREATE_NEEDS = ("title", "severity", "commander")
UPDATE_FIELDS = ("title", "severity", "description", "visibility", "detected_at", "links", "status", "resolved_at")


def _visible(session: Session, *, external_id: str, viewer: User) -> Incident | None:
    # A public holder first: it is the one every caller sees.
    query = (
        select(Incident).where(Incident.external_id == external_id, visible_incidents(viewer))
        .order_by((Incident.visibility == Visibility.PUBLIC).desc(), Incident.id).limit(1)
    )
    return session.scalar(query)


def put_external(
    session: Session, *, source: str, ref: str, data: ExternalIncidentPut, viewer: User, settings: Settings,
) -> tuple[Incident, bool]:
    """Create the incident `<source>:<ref>` or update the one `viewer` can see; (incident, created).

    Resolving books the retro and reopening withdraws an unscheduled one, as `PATCH /incidents/{id}` does.
    """
    external_id = service.external_id(source, ref)
    if len(external_id) > 200:
        raise ValidationFailed("The external id is too long.", fields={"external_id": "must be at most 200 characters with its source"})
    incident = _visible(session, external_id=external_id, viewer=viewer)
    if incident is None:
        try:
            return _create(session, external_id=external_id, data=data, viewer=viewer, settings=settings), True
        except Conflict:
            # Another request created it a moment ago: this one updates it.
            incident = _visible(session, external_id=external_id, viewer=viewer)
            if incident is None:
                raise
    _update(session, incident=incident, data=data, viewer=viewer, settings=settings)
    return incident, False


def _create(session: Session, *, external_id: str, data: ExternalIncidentPut, viewer: User, settings: Settings) -> Incident:
    missing = {name: "is required to create the incident" for name in CREATE_NEEDS if getattr(data, name) is None}
    if missing:
        raise ValidationFailed(f"No incident has this external id yet; creating one needs {', '.join(missing)}.",
                               fields=missing)
    fields = data.model_dump(exclude_unset=True, exclude={"status", "resolved_at"})
    if fields.get("links") is None:
        fields.pop("links", None)
    create = IncidentCreate.model_validate(fields | {"external_id": external_id})
    incident = incident_service.create_incident(session, data=create, viewer=viewer)
    if data.status is not None or data.resolved_at is not None:
        _update(session, incident=incident, data=data.model_copy(update={"title": None}), viewer=viewer, settings=settings)
    return incident


def _update(session: Session, *, incident: Incident, data: ExternalIncidentPut, viewer: User, settings: Settings) -> None:
    given = data.model_fields_set
    if data.started_at is not None and data.started_at != incident.started_at:
        latest = incident.resolved_at or data.resolved_at
        if latest is not None and data.started_at > latest:
            raise ValidationFailed("started_at is after resolved_at.", fields={"started_at": "must not be after resolved_at"})
        incident.started_at = data.started_at
    if data.commander is not None and (incident.commander is None or incident.commander.email != data.commander):
        incidents.add_role(session, incident=incident, email=data.commander, role="commander", actor=viewer)
    changes = {name: getattr(data, name) for name in UPDATE_FIELDS if name in given and getattr(data, name) is not None}
    if changes:
        incidents.update_incident(session, incident=incident, data=IncidentUpdate.model_validate(changes),
                                  actor=viewer, settings=settings)
