"""Teams, the services they own, and which services each incident touched.

Search and insights join on these: `incident_services(incident_id, service_id)` and
`services.team_id`; an action item's service is `action_items.service_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    services: Mapped[list[Service]] = relationship(back_populates="team", order_by="Service.name")

    @property
    def service_names(self) -> list[str]:
        return [service.name for service in self.services]


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    team: Mapped[Optional[Team]] = relationship(back_populates="services", lazy="joined")

    @property
    def team_name(self) -> Optional[str]:
        return self.team.name if self.team else None


# The services an incident touched. The primary key (incident, service) serves "this incident's
# services"; the second index serves "the incidents of this service" (search, related incidents).
incident_services = Table(
    "incident_services",
    Base.metadata,
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_incident_services_service_id_incident_id", "service_id", "incident_id"),
)
