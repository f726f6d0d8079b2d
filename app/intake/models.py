"""What intake remembers: each sender event applied (once), each sender incident's Hindsight incident,
and each sender user matched to an email."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Sender(StrEnum):
    """The tools whose webhooks intake reads; each is the `source` of its timeline events."""

    PAGERDUTY = "pagerduty"
    ROOTLY = "rootly"
    INCIDENTIO = "incidentio"


class IntakeDelivery(Base):
    """One sender event that changes its incident (or creates it), applied once: a second delivery of the
    same id changes nothing. An event that only adds a timeline line to a known incident needs no row
    here: the timeline's unique (incident, external id) keeps it once."""

    __tablename__ = "intake_deliveries"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    incident_ref: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntakeIncident(Base):
    """The Hindsight incident of one sender incident, and the times its status and severity were last set.

    Events arrive in any order: a status or severity older than the one applied is not applied
    again; `opened` says whether the sender's opening event (which fixes `started_at`) has arrived.
    """

    __tablename__ = "intake_incidents"
    __table_args__ = (UniqueConstraint("source", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(200))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    opened: Mapped[bool] = mapped_column(default=False)
    status_at: Mapped[Optional[datetime]]
    severity_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SenderUser(Base):
    """A sender's user (a PagerDuty user id) and the email that matches them to a person.

    Stored by an admin, or found once through the sender's API (`looked_up_at`; `email` empty when
    the sender had none), so that each user is looked up at most once.
    """

    __tablename__ = "intake_sender_users"
    __table_args__ = (UniqueConstraint("source", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    looked_up_at: Mapped[Optional[datetime]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
