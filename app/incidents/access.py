"""Who may see an incident: private ones only their responders, facilitator, participants and admins."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import NotFound
from app.incidents.models import Incident, IncidentRole


def visible_incidents(viewer: User | None) -> ColumnElement[bool]:
    """A WHERE clause on Incident that keeps what `viewer` may see; use it in every query."""
    from app.retros.models import RetroParticipant, Retrospective

    if viewer is not None and viewer.is_admin:
        return true()
    if viewer is None:
        return Incident.visibility == "public"
    person_id = viewer.person_id
    return or_(
        Incident.visibility == "public",
        exists().where(and_(IncidentRole.incident_id == Incident.id, IncidentRole.person_id == person_id)),
        exists().where(and_(Retrospective.incident_id == Incident.id, Retrospective.facilitator_id == person_id)),
        exists().where(
            and_(
                Retrospective.incident_id == Incident.id,
                RetroParticipant.retrospective_id == Retrospective.id,
                RetroParticipant.person_id == person_id,
            )
        ),
    )


def can_view(session: Session, viewer: User | None, incident: Incident) -> bool:
    if not incident.is_private or (viewer is not None and viewer.is_admin):
        return True
    return session.scalar(select(Incident.id).where(Incident.id == incident.id, visible_incidents(viewer))) is not None


def get_visible_incident(session: Session, viewer: User | None, incident_id: int) -> Incident:
    """The incident, or NotFound, the same answer whether it is missing or private to others."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id, visible_incidents(viewer)))
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident
