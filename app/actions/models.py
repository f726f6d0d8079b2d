"""Action items: each has an owner and a due date, and is tracked in Jira."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person
from app.retros.models import Retrospective

ACTION_STATUSES = ("open", "in_progress", "done", "wont_do")
PRIORITIES = ("low", "medium", "high", "critical")
SYNC_STATUSES = ("pending", "synced", "failed", "off")


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_owner_status_due", "owner_id", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    oversized: Mapped[bool] = mapped_column(default=False)
    jira_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    sync_status: Mapped[str] = mapped_column(String(16), default="off")
    last_sync_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    retrospective: Mapped[Retrospective] = relationship()
    owner: Mapped[Person] = relationship(lazy="joined")
