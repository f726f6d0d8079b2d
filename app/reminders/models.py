"""Reminder and mail bookkeeping: what was reminded, snoozes, the mail outbox, calendar events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person

REMINDER_REASONS = ("overdue", "due_today", "due_soon")


class ReminderLog(Base):
    """One action item reminded for one reason on one (organisation-local) day.

    The unique key is what makes a reminder go out once however many runs race:
    a run claims its rows with INSERT ... ON CONFLICT before sending. A row whose
    email SMTP refused is kept as `failed` and claimed again by the next run.
    """

    __tablename__ = "reminder_log"
    __table_args__ = (
        UniqueConstraint("action_item_id", "reason", "day"),
        Index("ix_reminder_log_owner_id_day", "owner_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))  # sending (claimed) | sent | failed
    claim_token: Mapped[str] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(default=1)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReminderSnooze(Base):
    """No reminders for an action item before `until`; the reason is kept (and in the item's history)."""

    __tablename__ = "reminder_snoozes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), unique=True)
    until: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    by: Mapped[Optional[Person]] = relationship(lazy="joined")


class EmailOutbox(Base):
    """An email recorded with the change that caused it, sent after commit and retried until sent.

    `dedupe_key` (unique when set) makes "each once" emails such as nudges safe against races.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)
    retrospective_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[Optional[str]] = mapped_column(Text)
    ics: Mapped[Optional[str]] = mapped_column(Text)
    ics_method: Mapped[Optional[str]] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending (claimed) | sent
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    last_attempt_at: Mapped[Optional[datetime]]
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetroCalendarEvent(Base):
    """The calendar event of a scheduled retro: its stable UID, the SEQUENCE sent last, who was invited."""

    __tablename__ = "retro_calendar_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), unique=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=-1)
    # Emails invited by the last REQUEST, newline-separated; removed people get a CANCEL.
    attendees: Mapped[str] = mapped_column(Text, default="")
    cancelled: Mapped[bool] = mapped_column(default=False)
    # The start the last REQUEST announced (a CANCEL repeats it).
    starts_at: Mapped[Optional[datetime]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def attendee_emails(self) -> list[str]:
        return [line for line in self.attendees.splitlines() if line]
