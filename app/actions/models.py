"""Action items: each has an owner and a due date, and is tracked in Jira.

Besides the items themselves: their history (every change, who, from, to, via what), the
Jira outbox (one row per item with changes not yet pushed) and the bookkeeping of the pull
(webhook deliveries seen, the reconcile cursor).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, Text, and_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person
from app.retros.models import Retrospective
from app.services.models import Service


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WONT_DO = "wont_do"

    @classmethod
    def still_open(cls) -> tuple[ActionStatus, ...]:
        """The statuses of an item someone still has to act on."""
        return (cls.OPEN, cls.IN_PROGRESS)


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SyncStatus(StrEnum):
    """Where an item stands with Jira: "off" when Jira is not configured."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    OFF = "off"


VIA = ("web", "api", "jira", "system")


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_owner_status_due", "owner_id", "status", "due_date"),
        # The board's first page: overdue first then by due date, or last changed first (app/actions/board.py);
        # the viewer's own items ("mine") in due-date order.
        Index("ix_action_items_due_date_id", "due_date", "id"),
        Index("ix_action_items_owner_due_id", "owner_id", "due_date", "id"),
        Index("ix_action_items_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.MEDIUM)
    oversized: Mapped[bool] = mapped_column(default=False)
    jira_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    sync_status: Mapped[str] = mapped_column(String(16), default=SyncStatus.OFF)
    last_sync_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The item this one was split from.
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("action_items.id", ondelete="SET NULL"), index=True
    )
    jira_issue_id: Mapped[Optional[str]] = mapped_column(String(64))
    # Jira's `updated` of the issue as last pushed or pulled, and the field values Jira had
    # then: a pull compares with these to tell a change made in Jira from our own echo.
    jira_updated_at: Mapped[Optional[datetime]]
    jira_state: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    synced_at: Mapped[Optional[datetime]]
    # The service the item is filed against, if any (a team's board: the items of its services).
    service_id: Mapped[Optional[int]] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"), index=True)

    retrospective: Mapped[Retrospective] = relationship()
    owner: Mapped[Person] = relationship(lazy="joined")
    service: Mapped[Optional[Service]] = relationship()

    @property
    def service_name(self) -> Optional[str]:
        return self.service.name if self.service else None

    @hybrid_method
    def is_overdue(self, today: date) -> bool:
        """Still open and due before `today` (the organisation's day: `app.core.dates.org_today`)."""
        return self.status in ActionStatus.still_open() and self.due_date < today

    @is_overdue.inplace.expression
    @classmethod
    def _is_overdue_sql(cls, today: Any) -> ColumnElement[bool]:
        return and_(cls.status.in_(ActionStatus.still_open()), cls.due_date < today)


class ActionItemChange(Base):
    """One change of one field of an item: who, from, to, via what, when."""

    __tablename__ = "action_item_history"
    __table_args__ = (Index("ix_action_item_history_item_at", "action_item_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[Optional[str]] = mapped_column(Text)
    new: Mapped[Optional[str]] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    # Who, when not a known person (a Jira user's display name, "system").
    actor_label: Mapped[Optional[str]] = mapped_column(String(320))
    # Why, when the change was not simply applied (a conflict lost, a refusal).
    note: Mapped[Optional[str]] = mapped_column(Text)
    applied: Mapped[bool] = mapped_column(default=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Optional[Person]] = relationship(lazy="joined")

    @property
    def by_label(self) -> Optional[str]:
        """Who made the change: a known person's email, else the label kept (a Jira user, "system")."""
        return self.actor.email if self.actor else self.actor_label


class JiraOutbox(Base):
    """An item with changes Jira has not received yet: written in the change's transaction.

    One row per item: further changes before the push raise `version` (so a push that read an
    older version leaves the row for the next one) and are sent together, as the item's state.
    """

    __tablename__ = "jira_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[Optional[datetime]]
    claim_token: Mapped[Optional[str]] = mapped_column(String(36))
    # A create attempt ended without an answer: Jira may have the issue, look it up by label first.
    uncertain: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    item: Mapped[ActionItem] = relationship()


class JiraWebhookDelivery(Base):
    """A webhook delivery already applied, by Jira's X-Atlassian-Webhook-Identifier."""

    __tablename__ = "jira_webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    issue_key: Mapped[Optional[str]] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class JiraSyncState(Base):
    """Small named values of the sync, such as the reconcile cursor."""

    __tablename__ = "jira_sync_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
