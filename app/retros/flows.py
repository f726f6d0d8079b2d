"""Workflows around a retro: booking it with its document, changing it with its invitations, completing it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem
from app.auth.models import User
from app.chat import flows as chat
from app.core.errors import RuleViolation
from app.db import utcnow
from app.documents.service import prepare_document, write_sections
from app.incidents.models import Incident
from app.reminders.service import retro_schedule_changed
from app.retros import service
from app.retros.models import RetroStatus, Retrospective
from app.retros.schemas import RetroUpdate
from config import Settings


def book_retrospective(session: Session, *, incident: Incident, settings: Settings) -> Retrospective:
    """Book the resolved incident's retro (`service.book_retrospective`) and generate its document from its template.

    The document is made here, with the retro, so that reading it never writes.
    """
    booked_before = incident.retrospective is not None
    retro = service.book_retrospective(session, incident=incident, settings=settings)
    if booked_before:
        prepare_document(session, retro=retro, settings=settings)  # a retro booked again keeps its document
    else:
        write_sections(session, retro=retro, settings=settings)  # a new retro has none yet: nothing to look for
    chat.retro_booked(session, retro=retro, settings=settings)
    return retro


def update_retrospective(
    session: Session, *, retro: Retrospective, data: RetroUpdate, actor: User, settings: Settings,
) -> Retrospective:
    """Change a retro (`service.update_retrospective`); a new time or team sends invitations or cancellations.

    A status is applied last, after the other fields of the same change (a meeting time given with
    `completed` counts): completing checks that the retro is ready, reopening needs a reason.
    """
    previous_slot = retro.scheduled_for
    people_changed = bool({"participants", "facilitator"} & data.model_fields_set)
    status = data.status
    fields = data.model_copy(update={"status": None}) if status is not None else data
    service.update_retrospective(session, retro=retro, data=fields, actor=actor)
    chat.retro_changed(session, retro=retro, previous_slot=previous_slot, status_given=False, settings=settings)
    if status is not None:
        change_status(session, retro=retro, status=status, reason=data.reason, actor=actor, settings=settings)
    if retro.scheduled_for != previous_slot or (retro.scheduled_for is not None and people_changed):
        retro_schedule_changed(session, retro=retro, previous=previous_slot, settings=settings)
    return retro


def change_status(
    session: Session, *, retro: Retrospective, status: str, reason: str | None, actor: User | None, settings: Settings,
) -> Retrospective:
    """`service.change_status` with what completing needs checked: the meeting and the retro's action items."""
    refusals = []
    if status in RetroStatus.done() and retro.status not in RetroStatus.done():
        items = session.scalars(
            select(ActionItem).where(ActionItem.retrospective_id == retro.id).order_by(ActionItem.id)
        ).all()
        refusals = service.completion_refusals(retro, items=items, now=utcnow())
    completing = status == RetroStatus.COMPLETED and retro.status != RetroStatus.COMPLETED
    service.change_status(session, retro=retro, status=status, reason=reason, actor=actor, refusals=refusals)
    if completing:
        chat.retro_changed(session, retro=retro, previous_slot=retro.scheduled_for, status_given=True, settings=settings)
    return retro


def complete_retrospective(
    session: Session, *, retro: Retrospective, actor: User, settings: Settings, reason: str | None = None,
) -> Retrospective:
    """Complete the retro once its meeting has happened and every action item has an owner and a due date."""
    return change_status(session, retro=retro, status=RetroStatus.COMPLETED, reason=reason, actor=actor, settings=settings)


def reopen_retrospective(
    session: Session, *, retro: Retrospective, actor: User, reason: str, settings: Settings,
) -> Retrospective:
    """Reopen a completed retro (back to scheduled, or pending if it has no meeting time), with a reason kept."""
    if retro.status not in RetroStatus.done():
        raise RuleViolation("The retro is not completed, so there is nothing to reopen.", code="retro_not_completed")
    status = RetroStatus.SCHEDULED if retro.scheduled_for is not None else RetroStatus.PENDING
    return change_status(session, retro=retro, status=status, reason=reason, actor=actor, settings=settings)
