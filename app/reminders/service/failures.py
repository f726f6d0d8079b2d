"""What admins see of mail that has not gone out yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.people.models import Person
from app.reminders.models import EmailOutbox, ReminderLog


def mail_failures(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Emails SMTP has not taken yet: failed digests (by owner and day) and pending outbox rows that failed."""
    digests = session.execute(
        select(
            Person.email, ReminderLog.day, func.count(ReminderLog.id), func.max(ReminderLog.attempts),
            func.max(ReminderLog.last_error), func.max(ReminderLog.updated_at),
        )
        .join(Person, Person.id == ReminderLog.owner_id)
        .where(ReminderLog.status == "failed")
        .group_by(Person.email, ReminderLog.day)
        .order_by(ReminderLog.day.desc(), Person.email)
        .limit(limit)
    ).all()
    outbox = session.scalars(
        select(EmailOutbox).where(EmailOutbox.status == "pending", EmailOutbox.attempts > 0)
        .order_by(EmailOutbox.last_attempt_at.desc(), EmailOutbox.id.desc()).limit(limit)
    ).all()
    found: list[dict[str, Any]] = [
        {"kind": "digest", "recipient": email, "day": day, "items": count, "attempts": attempts,
         "last_error": error, "last_attempt_at": at, "next_attempt_at": None, "retrospective_id": None}
        for email, day, count, attempts, error, at in digests
    ]
    found += [
        {"kind": row.kind, "recipient": row.recipient, "day": None, "items": None, "attempts": row.attempts,
         "last_error": row.last_error, "last_attempt_at": row.last_attempt_at,
         "next_attempt_at": row.next_attempt_at, "retrospective_id": row.retrospective_id}
        for row in outbox
    ]
    return found
