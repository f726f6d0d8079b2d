"""Retrospectives: booked when an incident is resolved, with participants and kept overrides."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.incidents.models import Incident, IncidentStatus, Severity
from app.people.models import Person


class RetroStatus(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    PUBLISHED = "published"
    # Its incident was reopened before the retro was scheduled; resolving it again rebooks it.
    WITHDRAWN = "withdrawn"

    @classmethod
    def done(cls) -> tuple[RetroStatus, ...]:
        """The statuses of a retro that has been held: it no longer changes."""
        return (cls.COMPLETED, cls.PUBLISHED)


class Retrospective(Base):
    __tablename__ = "retrospectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=RetroStatus.PENDING)
    deadline_at: Mapped[datetime]
    target_at: Mapped[datetime]
    suggested_slot: Mapped[Optional[datetime]]
    scheduled_for: Mapped[Optional[datetime]]
    facilitator_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    suggested_facilitator_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    template: Mapped[str] = mapped_column(String(64), default="standard")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    incident: Mapped[Incident] = relationship(lazy="joined", back_populates="retrospective")
    facilitator: Mapped[Optional[Person]] = relationship(foreign_keys=[facilitator_id])
    suggested_facilitator: Mapped[Optional[Person]] = relationship(foreign_keys=[suggested_facilitator_id])
    participants: Mapped[list[RetroParticipant]] = relationship(
        order_by="RetroParticipant.id", cascade="all, delete-orphan"
    )
    overrides: Mapped[list[RetroOverride]] = relationship(
        order_by="RetroOverride.id", cascade="all, delete-orphan"
    )
    history: Mapped[list[RetroStatusChange]] = relationship(
        order_by="RetroStatusChange.id", cascade="all, delete-orphan"
    )
    factors: Mapped[list[RetroFactor]] = relationship(order_by="RetroFactor.id", cascade="all, delete-orphan")

    @property
    def warnings(self) -> list[str]:
        """What the team should still see to, in words: a SEV0 without a sponsor, no facilitator, a reopened incident."""
        found = []
        incident = self.incident
        if incident.severity == Severity.SEV0 and incident.current_holder("executive_sponsor") is None and not any(
            r.role == "executive_sponsor" for r in incident.roles
        ):
            found.append("A SEV0 retro needs an Executive Sponsor on the team: give someone the executive_sponsor role.")
        if self.facilitator is None:
            found.append("No facilitator yet: pick someone who held no role in the incident.")
        if incident.status != IncidentStatus.RESOLVED and self.status == RetroStatus.SCHEDULED:
            found.append("The incident was reopened after this retro was booked: check that the meeting still fits.")
        return found


class RetroParticipant(Base):
    __tablename__ = "retro_participants"
    __table_args__ = (UniqueConstraint("retrospective_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)

    person: Mapped[Person] = relationship(lazy="joined")

    @property
    def email(self) -> str:
        return self.person.email


class RetroOverride(Base):
    """A product rule set aside on purpose, with the reason, who and when."""

    __tablename__ = "retro_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    by: Mapped[Optional[Person]] = relationship(lazy="joined")


class RetroStatusChange(Base):
    """A retro completed or reopened: from what, to what, why, who and when (the retro's history)."""

    __tablename__ = "retro_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    previous: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    by: Mapped[Optional[Person]] = relationship(lazy="joined")


class RetroHighlight(Base):
    """A timeline event the meeting marked as worth discussing: kept with the retro, not the incident."""

    __tablename__ = "retro_highlights"
    __table_args__ = (UniqueConstraint("retrospective_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("timeline_events.id", ondelete="CASCADE"), index=True)
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RetroFactor(Base):
    """A contributing factor the meeting named, from the configured taxonomy (`factors.categories`),
    with a short note. A retro has as many as it needs: there is no single root cause.

    `factor_key` is `category.kind` (or a category alone); `category` is its first part, kept so that
    filters and figures by category need no string functions.
    """

    __tablename__ = "retro_factors"
    __table_args__ = (
        UniqueConstraint("retrospective_id", "factor_key"),
        Index("ix_retro_factors_factor_key_retrospective_id", "factor_key", "retrospective_id"),
        Index("ix_retro_factors_category_retrospective_id", "category", "retrospective_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(64))
    factor_key: Mapped[str] = mapped_column(String(130))
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    by: Mapped[Optional[Person]] = relationship(lazy="joined")
