"""Workflows that start from an incident: resolve (book the retro, prepare its document), reopen,
rename (re-push its Jira issues), give a role (with the retro's rules)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.actions.flows import requeue_incident_items
from app.auth.models import User
from app.db import utcnow
from app.incidents import service
from app.incidents.models import Incident, IncidentRole, IncidentStatus
from app.incidents.schemas import IncidentUpdate
from app.people.service import require_person
from app.retros import service as retros
from app.retros.flows import book_retrospective
from config import Settings


def update_incident(
    session: Session, *, incident: Incident, data: IncidentUpdate, actor: User, settings: Settings,
) -> Incident:
    """Apply the given fields; resolving books the retro at once, reopening withdraws one not yet scheduled.

    A new title or visibility changes what the incident's Jira issues show: they are pushed again.
    """
    changes = data.model_dump(exclude_unset=True)
    visibility_changed = changes.get("visibility") not in (None, incident.visibility)
    service.update_incident(session, incident=incident, data=data)
    if incident.status == IncidentStatus.RESOLVED:
        booked_before = incident.retrospective is not None
        book_retrospective(session, incident=incident, settings=settings)
        if booked_before and "resolved_at" in changes:  # a retro booked just now has this resolution's dates
            retros.rebook_if_pending(session, incident=incident, settings=settings)
    else:
        retros.withdraw_if_unscheduled(session, incident=incident)
    if visibility_changed or "title" in changes:
        # Jira issues carry the incident's title, or only a link for private ones.
        requeue_incident_items(session, incident=incident, settings=settings)
    return incident


def add_role(
    session: Session, *, incident: Incident, email: str, role: str, started_at: datetime | None = None,
    actor: User | None = None, override_reason: str | None = None,
) -> tuple[IncidentRole, bool]:
    """Give `role` to the person with `email`; for single-holder roles this is a handoff.

    Once the retro is booked, its rules apply to the new holder (`retros.admit_responder`), who
    joins it. Returns the role and whether it is new (the same holder again changes nothing).
    """
    person = require_person(session, email, field="email")
    started_at = started_at or utcnow()
    held = service.role_held(incident=incident, person=person, role=role, started_at=started_at)
    if held is not None:
        return held, False
    retros.admit_responder(
        session, incident=incident, person=person, role=role, started_at=started_at,
        override_reason=override_reason, actor=actor,
    )
    new_role = service.give_role(session, incident=incident, person=person, role=role, started_at=started_at)
    retros.add_responder_to_retro(session, incident=incident, person=person)
    return new_role, True
