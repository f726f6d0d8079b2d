"""Workflows around a retro: booking it with its document, and changing it with its invitations."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.auth.models import User
from app.chat import flows as chat
from app.documents.service import prepare_document
from app.incidents.models import Incident
from app.reminders.service import retro_schedule_changed
from app.retros import service
from app.retros.models import Retrospective
from app.retros.schemas import RetroUpdate
from config import Settings


def book_retrospective(session: Session, *, incident: Incident, settings: Settings) -> Retrospective:
    """Book the resolved incident's retro (`service.book_retrospective`) and generate its document from its template.

    The document is made here, with the retro, so that reading it never writes.
    """
    retro = service.book_retrospective(session, incident=incident, settings=settings)
    prepare_document(session, retro=retro, settings=settings)
    chat.retro_booked(session, retro=retro, settings=settings)
    return retro


def update_retrospective(
    session: Session, *, retro: Retrospective, data: RetroUpdate, actor: User, settings: Settings,
) -> Retrospective:
    """Change a retro (`service.update_retrospective`); a new time or team sends invitations or cancellations."""
    previous_slot = retro.scheduled_for
    people_changed = bool({"participants", "facilitator"} & data.model_fields_set)
    service.update_retrospective(session, retro=retro, data=data, actor=actor)
    chat.retro_changed(session, retro=retro, previous_slot=previous_slot, status_given="status" in data.model_fields_set, settings=settings)
    if retro.scheduled_for != previous_slot or (retro.scheduled_for is not None and people_changed):
        retro_schedule_changed(session, retro=retro, previous=previous_slot, settings=settings)
    return retro
