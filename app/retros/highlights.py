"""Highlights: the timeline events a retro's meeting marked as worth discussing, kept with the retro."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import NotFound, RuleViolation
from app.incidents.models import TimelineEvent
from app.retros.models import RetroHighlight, RetroStatus, Retrospective


def highlighted_event_ids(session: Session, *, retro: Retrospective) -> set[int]:
    """The timeline events the retro's meeting highlighted."""
    return set(session.scalars(select(RetroHighlight.event_id).where(RetroHighlight.retrospective_id == retro.id)))


def set_highlight(session: Session, *, retro: Retrospective, event_id: int, highlighted: bool, actor: User | None) -> None:
    """Highlight an event of the retro's incident for the meeting, or take the highlight off (both idempotent).

    An event of another incident is NotFound; a completed retro is not changed (`retro_completed`).
    """
    event = session.scalar(select(TimelineEvent.id).where(
        TimelineEvent.id == event_id, TimelineEvent.incident_id == retro.incident_id,
    ))
    if event is None:
        raise NotFound(f"The incident has no timeline event {event_id}.")
    if retro.status in RetroStatus.done():
        raise RuleViolation(
            "The retro is completed; reopen it to change what its meeting highlighted.", code="retro_completed",
        )
    existing = session.scalar(select(RetroHighlight).where(
        RetroHighlight.retrospective_id == retro.id, RetroHighlight.event_id == event_id,
    ))
    if highlighted and existing is None:
        session.add(RetroHighlight(retrospective_id=retro.id, event_id=event_id,
                                   by_id=actor.person_id if actor else None))
    elif not highlighted and existing is not None:
        session.delete(existing)
    session.flush()
