"""Who may see an incident: private ones only their responders, facilitator, participants and admins."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.core.errors import NotFound
from app.incidents.models import Incident, IncidentRole, Visibility
from app.retros.models import RetroParticipant, Retrospective


def incident_visible_to(person_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """A WHERE clause on Incident: visible to the person with `person_id` (a value or a column).

    Public incidents, and private ones the person responded to, facilitates, takes part in the
    retro of, or sees as an admin. `person_id` may be a column of the outer query (e.g. the
    owner of an action item), so the subqueries correlate everything but their own aliases.
    """
    role = aliased(IncidentRole)
    retro = aliased(Retrospective)
    participant = aliased(RetroParticipant)
    admin = aliased(User)
    return or_(
        Incident.visibility == Visibility.PUBLIC,
        select(role.id).where(role.incident_id == Incident.id, role.person_id == person_id)
        .correlate_except(role).exists(),
        select(retro.id).where(retro.incident_id == Incident.id, retro.facilitator_id == person_id)
        .correlate_except(retro).exists(),
        select(participant.id)
        .join(retro, retro.id == participant.retrospective_id)
        .where(retro.incident_id == Incident.id, participant.person_id == person_id)
        .correlate_except(participant, retro).exists(),
        select(admin.id).where(admin.person_id == person_id, admin.is_admin.is_(True))
        .correlate_except(admin).exists(),
    )


def person_may_see(session: Session, *, person_id: int, incident_id: int) -> bool:
    """Whether the person may see the incident: `incident_visible_to`, asked of one person and one incident."""
    query = select(Incident.id).where(Incident.id == incident_id, incident_visible_to(person_id))
    return session.scalar(query) is not None


def visible_incidents(viewer: User | None) -> ColumnElement[bool]:
    """A WHERE clause on Incident that keeps what `viewer` may see; use it in every query."""
    if viewer is not None and viewer.is_admin:
        return true()
    if viewer is None:
        return Incident.visibility == Visibility.PUBLIC
    return incident_visible_to(viewer.person_id)


def get_visible_incident(session: Session, viewer: User | None, incident_id: int) -> Incident:
    """The incident, or NotFound, the same answer whether it is missing or private to others."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id, visible_incidents(viewer)))
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident
