"""Scheduled jobs of the reminders domain; each takes the job's session and commits nothing itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.db import utcnow
from app.reminders import service
from app.reminders.mail import deliver_outbox
from config import Settings


def digest_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Today's digests once `reminders.hour` has passed locally; later ticks retry refused ones."""
    day = service.digest_day(settings, utcnow())
    if day is None:
        return {"skipped": f"before {settings.reminders.hour}:00 local time"}
    run = service.send_digests(session, as_of=day, settings=settings)
    return {"as_of": day.isoformat(), "emails_sent": run.emails_sent, "items": run.items, "failed": run.failed}


def nudge_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Queue the retro nudges that are due (sent after the job commits)."""
    return service.send_nudges(session, settings=settings)


def outbox_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Send invitations and nudges whose retry time has come."""
    return deliver_outbox(session, settings=settings)
