"""Incidents, roles with handoffs, and timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.core.errors import Conflict, ValidationFailed
from app.db import utcnow
from app.incidents.access import visible_incidents
from app.incidents.models import (
    SINGLE_HOLDER_ROLES, Incident, IncidentLink, IncidentRole, IncidentStatus, TimelineEvent, Visibility,
)
from app.incidents.schemas import EventCreate, IncidentCreate, IncidentUpdate, LinkIn
from app.people.models import Person
from app.people.service import require_person
from app.services.service import require_services


def create_incident(session: Session, *, data: IncidentCreate, viewer: User | None = None) -> Incident:
    """Create an incident; the commander gets the `commander` role from its start.

    An `external_id` already used by an incident `viewer` can see is refused (409); one used only by
    private incidents they cannot see is not, so the answer tells nobody that those exist. Without a
    viewer (the system: demo, intake) every incident counts.
    """
    commander = require_person(session, data.commander, field="commander")
    if data.external_id:
        _require_free_external_id(session, data.external_id, viewer=viewer, public=data.visibility == Visibility.PUBLIC)
    started_at = data.started_at or utcnow()
    _check_order(started_at=started_at, detected_at=data.detected_at, resolved_at=None)
    incident = Incident(
        title=data.title, severity=data.severity, description=data.description,
        visibility=data.visibility, external_id=data.external_id, started_at=started_at,
        detected_at=data.detected_at, status=IncidentStatus.INVESTIGATING,
    )
    incident.links = _links(data.links)
    incident.services = require_services(session, data.services)
    incident.roles.append(IncidentRole(person=commander, role="commander", started_at=started_at))
    try:
        with session.begin_nested():  # two public creates racing for one external id: the second is a 409
            session.add(incident)
            session.flush()
    except IntegrityError:
        raise _duplicate(data.external_id or "") from None
    return incident


def _duplicate(external_id: str) -> Conflict:
    return Conflict(
        f"An incident with external_id {external_id} already exists.",
        code="duplicate_external_id", fields={"external_id": "is already used by another incident"},
    )


def _require_free_external_id(session: Session, external_id: str, *, viewer: User | None, public: bool) -> None:
    # A public incident is visible to everyone, so a public one holding the id is always a conflict.
    holders = select(Incident.id).where(Incident.external_id == external_id)
    if viewer is not None:
        seen = visible_incidents(viewer)
        holders = holders.where(or_(seen, Incident.visibility == Visibility.PUBLIC) if public else seen)
    if session.scalar(holders.limit(1)) is not None:
        raise _duplicate(external_id)


def _links(links: Sequence[LinkIn]) -> list[IncidentLink]:
    return [IncidentLink(title=link.title, url=str(link.url)) for link in links]


def _check_order(*, started_at: datetime, detected_at: datetime | None, resolved_at: datetime | None) -> None:
    if detected_at is not None and detected_at < started_at:
        raise ValidationFailed("detected_at is before started_at.", fields={"detected_at": "must not be before started_at"})
    if resolved_at is not None:
        if resolved_at < started_at:
            raise ValidationFailed("resolved_at is before started_at.", fields={"resolved_at": "must not be before started_at"})
        if resolved_at > utcnow():
            raise ValidationFailed("resolved_at is in the future.", fields={"resolved_at": "must not be in the future"})


def list_incidents(
    session: Session, *, viewer: User, status: str | None = None, severity: str | None = None
) -> list[Incident]:
    query = select(Incident).where(visible_incidents(viewer)).order_by(Incident.started_at.desc(), Incident.id.desc())
    if status:
        query = query.where(Incident.status == status)
    if severity:
        query = query.where(Incident.severity == severity)
    return list(session.scalars(query.options(selectinload(Incident.retrospective), selectinload(Incident.services))).unique())


def update_incident(session: Session, *, incident: Incident, data: IncidentUpdate) -> Incident:
    """Apply the given fields (the incident only: `app.incidents.flows.update_incident` does the rest)."""
    changes = data.model_dump(exclude_unset=True)
    visibility_changed = changes.get("visibility") not in (None, incident.visibility)
    if visibility_changed and changes["visibility"] == Visibility.PUBLIC and incident.external_id:
        # Public external ids are unique: another public incident may hold this one already.
        public_holder = select(Incident.id).where(
            Incident.external_id == incident.external_id, Incident.visibility == Visibility.PUBLIC, Incident.id != incident.id
        )
        if session.scalar(public_holder.limit(1)) is not None:
            raise Conflict(
                f"Another public incident has the external_id {incident.external_id}; "
                "this one cannot be made public while it does.",
                code="duplicate_external_id", fields={"visibility": "another public incident has this external_id"},
            )
    for name in ("title", "severity", "description", "visibility", "detected_at"):
        if name in changes and changes[name] is not None:
            setattr(incident, name, changes[name])
    if "links" in changes and data.links is not None:
        incident.links = _links(data.links)
    if "services" in changes and data.services is not None:
        incident.services = require_services(session, data.services)
    resolving = changes.get("status") == IncidentStatus.RESOLVED or (
        changes.get("resolved_at") is not None and changes.get("status") is None
    )
    if resolving:
        resolved_at = data.resolved_at or incident.resolved_at or utcnow()
        _check_order(started_at=incident.started_at, detected_at=incident.detected_at, resolved_at=resolved_at)
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = resolved_at
    elif changes.get("status") is not None:
        incident.status = changes["status"]
        incident.resolved_at = None
    _check_order(started_at=incident.started_at, detected_at=incident.detected_at, resolved_at=None)
    session.flush()
    return incident


def role_held(
    *, incident: Incident, person: Person, role: str, started_at: datetime,
) -> IncidentRole | None:
    """Check a new role's start; the role if `person` holds it already (giving it again changes nothing)."""
    if started_at < incident.started_at:
        raise ValidationFailed("The role starts before the incident.", fields={"started_at": "must not be before the incident started"})
    for held in incident.roles:
        if held.role == role and held.ended_at is None and held.person_id == person.id:
            return held
    return None


def give_role(
    session: Session, *, incident: Incident, person: Person, role: str, started_at: datetime,
) -> IncidentRole:
    """Give `role` to `person` from `started_at`; for single-holder roles this is a handoff."""
    current = [r for r in incident.roles if r.role == role and r.ended_at is None]
    if role in SINGLE_HOLDER_ROLES:
        for held in current:
            if started_at < held.started_at:
                raise ValidationFailed(
                    "The handoff is before the current holder took the role.",
                    fields={"started_at": f"must not be before {held.started_at.isoformat()}"},
                )
            held.ended_at = started_at
            held.handed_to = person
    new_role = IncidentRole(person=person, role=role, started_at=started_at)
    incident.roles.append(new_role)
    session.flush()
    return new_role


def add_events(
    session: Session, *, incident: Incident, events: Sequence[EventCreate], source: str = "api"
) -> tuple[list[TimelineEvent], int]:
    """Add events; one whose external_id this incident has seen is not added twice.

    Returns the events (existing ones for duplicates) and how many were duplicates.
    """
    wanted_ids = {e.external_id for e in events if e.external_id}
    existing: dict[str, TimelineEvent] = {}
    if wanted_ids:
        rows = session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.incident_id == incident.id, TimelineEvent.external_id.in_(wanted_ids)
            )
        )
        existing = {row.external_id: row for row in rows if row.external_id}
    result: list[TimelineEvent] = []
    duplicates = 0
    for data in events:
        if data.external_id and data.external_id in existing:
            result.append(existing[data.external_id])
            duplicates += 1
            continue
        event = TimelineEvent(
            incident_id=incident.id, occurred_at=data.occurred_at, text=data.text,
            author=data.author, kind=data.kind, source=source, external_id=data.external_id,
        )
        session.add(event)
        if data.external_id:
            existing[data.external_id] = event
        result.append(event)
    session.flush()
    return result, duplicates


def timeline_for_reading(session: Session, *, incident_id: int) -> Sequence[Row[Any]]:
    """The timeline as rows to read by attribute (id, occurred_at, text, author, kind), in time order:
    the meeting page's, where a long incident's thousands of events are not worth making into dicts."""
    query = (
        select(TimelineEvent.id, TimelineEvent.occurred_at, TimelineEvent.text, TimelineEvent.author, TimelineEvent.kind)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    )
    return session.execute(query).all()


def timeline_rows(session: Session, *, incident_id: int) -> list[dict]:
    """The timeline as plain rows in time order (the hot path of the timeline route)."""
    columns = (
        TimelineEvent.id, TimelineEvent.occurred_at, TimelineEvent.text, TimelineEvent.author,
        TimelineEvent.kind, TimelineEvent.source, TimelineEvent.external_id,
    )
    query = (
        select(*columns)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    )
    return [row._asdict() for row in session.execute(query)]
