"""The chat side of a retro's life: what the retro flows call when it is booked, scheduled or completed.

Each call records the notices in the caller's transaction and asks for them to be sent right
after its commit; the scheduler's `chat.outbox` job retries what a channel did not take.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.chat import service
from app.chat.delivery import deliver_after_commit
from app.chat.models import ChatKind
from app.db import utcnow
from app.retros.models import RetroStatus, Retrospective
from config import Settings


def announce(session: Session, *, retro: Retrospective, kind: ChatKind, settings: Settings,
             previous_slot: datetime | None = None) -> None:
    """Record the notice of `kind` about `retro` (booked and completed once each) and send it after commit."""
    if not service.channels_for(settings, kind):
        return  # no channel wants it: no message to word (a booked one looks for recurrences)
    if kind == ChatKind.BOOKED:
        ids = service.queue_booked(session, retro=retro, settings=settings)
    elif kind == ChatKind.SCHEDULED:
        ids = service.queue_scheduled(session, retro=retro, previous=previous_slot, settings=settings)
    elif kind == ChatKind.COMPLETED:
        ids = service.queue_completed(session, retro=retro, settings=settings)
    else:
        raise ValueError(f"{kind} is not about one retro")
    deliver_after_commit(session, ids)


def retro_booked(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    """After booking (called on every change of a resolved incident, so: a pending retro still in time, once)."""
    if retro.status == RetroStatus.PENDING and retro.scheduled_for is None and retro.deadline_at > utcnow():
        announce(session, retro=retro, kind=ChatKind.BOOKED, settings=settings)


def retro_changed(
    session: Session, *, retro: Retrospective, previous_slot: datetime | None, status_given: bool, settings: Settings,
) -> None:
    """After a change to a retro: announce a new time; and its completion (once) when the change completed it."""
    if retro.scheduled_for is not None and retro.scheduled_for != previous_slot:
        announce(session, retro=retro, kind=ChatKind.SCHEDULED, settings=settings, previous_slot=previous_slot)
    if status_given and retro.status == RetroStatus.COMPLETED:
        announce(session, retro=retro, kind=ChatKind.COMPLETED, settings=settings)
