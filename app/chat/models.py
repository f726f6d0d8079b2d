"""The chat outbox: one row a message a channel, recorded with the change that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class ChatKind(StrEnum):
    """What a message announces (the names the `messages` settings use)."""

    BOOKED = "booked"
    SCHEDULED = "scheduled"
    AT_RISK = "at_risk"
    COMPLETED = "completed"
    DIGEST = "digest"


class ChatChannelName(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"


class ChatStatus(StrEnum):
    """pending (due at `next_attempt_at`), sending (claimed until `claimed_until`), sent, or given up."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    GIVEN_UP = "given_up"


class ChatOutbox(Base):
    """A message for one channel, sent after commit and retried with backoff until taken or given up.

    `dedupe_key` (unique when set) makes "once" messages (a booking, the deadline warning,
    the week's digest) safe against repeats and races.
    """

    __tablename__ = "chat_outbox"
    __table_args__ = (Index("ix_chat_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)
    retrospective_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(Text)  # integrations.chat.ChatMessage as JSON
    status: Mapped[str] = mapped_column(String(16), default=ChatStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[Optional[str]] = mapped_column(String(36))
    claimed_until: Mapped[Optional[datetime]]
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[Optional[datetime]]
    # The ChatFailure kind of the last failure (a page says it in words) and its raw text (logs only).
    error_kind: Mapped[Optional[str]] = mapped_column(String(32))
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
