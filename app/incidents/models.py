"""Incidents, the roles people held in them (with handoffs), their timelines and links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person
from app.services.models import Service


class Severity(StrEnum):
    SEV0 = "SEV0"
    SEV1 = "SEV1"
    SEV2 = "SEV2"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    CONTAINED = "contained"
    RESOLVED = "resolved"


class Visibility(StrEnum):
    """Who sees an incident: everyone, or (private) only its team and admins (the rule: app/incidents/access.py)."""

    PUBLIC = "public"
    PRIVATE = "private"


ROLES = (
    "commander",
    "scribe",
    "communications_lead",
    "executive_sponsor",
    "legal_counsel",
    "data_analyst",
    "customer_support_lead",
    "subject_matter_expert",
)
# Roles held by one person at a time: giving one to someone else is a handoff.
SINGLE_HOLDER_ROLES = ("commander", "scribe", "communications_lead")


class Incident(Base):
    __tablename__ = "incidents"
    # External ids are unique among public incidents; among private ones the service keeps them unique
    # for whoever can see them, so that a private incident's id never tells an outsider it exists.
    __table_args__ = (
        Index("uq_incidents_public_external_id", "external_id", unique=True,
              sqlite_where=text("visibility = 'public'"), postgresql_where=text("visibility = 'public'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.INVESTIGATING)
    visibility: Mapped[str] = mapped_column(String(8), default=Visibility.PUBLIC)
    description: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    detected_at: Mapped[Optional[datetime]]
    resolved_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    roles: Mapped[list[IncidentRole]] = relationship(
        back_populates="incident", order_by="IncidentRole.started_at, IncidentRole.id",
        cascade="all, delete-orphan",
    )
    links: Mapped[list[IncidentLink]] = relationship(
        order_by="IncidentLink.id", cascade="all, delete-orphan"
    )
    # The services it touched, by name (the catalogue: app/services).
    services: Mapped[list[Service]] = relationship(secondary="incident_services", order_by="Service.name")
    # Booked when the incident is resolved; named, not imported: app.retros.models imports this module.
    retrospective: Mapped[Optional["Retrospective"]] = relationship(  # noqa: F821
        "Retrospective", back_populates="incident"
    )

    @property
    def retrospective_id(self) -> Optional[int]:
        return self.retrospective.id if self.retrospective else None

    @property
    def service_names(self) -> list[str]:
        return [service.name for service in self.services]

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    def current_holder(self, role: str) -> Optional[Person]:
        """Who holds `role` now (the last one handed it), if anyone."""
        current = [r for r in self.roles if r.role == role and r.ended_at is None]
        return current[-1].person if current else None

    @property
    def commander(self) -> Optional[Person]:
        return self.current_holder("commander")

    def responders(self) -> list[Person]:
        """Everyone who held any role, handoffs included, in the order they joined."""
        seen: dict[int, Person] = {}
        for role in self.roles:
            seen.setdefault(role.person_id, role.person)
        return list(seen.values())


class IncidentRole(Base):
    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[Optional[datetime]]
    # Set on the role that was handed over: who took it.
    handed_to_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))

    incident: Mapped[Incident] = relationship(back_populates="roles")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    handed_to: Mapped[Optional[Person]] = relationship(foreign_keys=[handed_to_id])


class IncidentLink(Base):
    __tablename__ = "incident_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000))


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("incident_id", "external_id"),
        Index("ix_timeline_events_incident_time", "incident_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[Optional[str]] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32), default="note")
    source: Mapped[str] = mapped_column(String(32), default="api")
    external_id: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
