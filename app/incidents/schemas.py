"""Request and response shapes for incidents, roles and timeline events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Optional, Union

from pydantic import AliasPath, AnyHttpUrl, Field, StringConstraints

from app.core.schemas import (
    Email, EmailOf, Line, Reason, RequestModel, ResponseModel, Text, Timestamp, UpdateModel, choice,
)
from app.incidents.models import IncidentStatus, Severity, Visibility
from app.services.schemas import ServiceNames

SeverityField = choice(Severity)
Status = choice(IncidentStatus)
VisibilityField = choice(Visibility)
Role = Literal[
    "commander", "scribe", "communications_lead", "executive_sponsor", "legal_counsel",
    "data_analyst", "customer_support_lead", "subject_matter_expert",
]
Title = Annotated[Line, StringConstraints(max_length=300)]


class LinkIn(RequestModel):
    title: Annotated[Line, StringConstraints(max_length=300)]
    url: AnyHttpUrl


class IncidentCreate(RequestModel):
    title: Title
    severity: SeverityField
    description: Annotated[str, StringConstraints(max_length=100_000)] = ""
    visibility: VisibilityField = Visibility.PUBLIC
    commander: Email
    started_at: Optional[Timestamp] = None
    detected_at: Optional[Timestamp] = None
    external_id: Optional[Annotated[Text, StringConstraints(max_length=200)]] = None
    links: list[LinkIn] = Field(default_factory=list, max_length=100)
    # The services it touched, by name: each must be in the catalogue (`POST /services`).
    services: ServiceNames = Field(default_factory=list)


class IncidentUpdate(UpdateModel):
    NULLABLE = frozenset({"detected_at"})

    title: Optional[Title] = None
    severity: Optional[SeverityField] = None
    description: Optional[Annotated[str, StringConstraints(max_length=100_000)]] = None
    status: Optional[Status] = None
    visibility: Optional[VisibilityField] = None
    detected_at: Optional[Timestamp] = None
    resolved_at: Optional[Timestamp] = None
    links: Optional[list[LinkIn]] = Field(default=None, max_length=100)
    services: Optional[ServiceNames] = None


class IncidentQuery(RequestModel):
    status: Optional[Status] = None
    severity: Optional[SeverityField] = None


class RoleCreate(RequestModel):
    email: Email
    role: Role
    started_at: Optional[Timestamp] = None
    # Needed once the retro is booked, for a role that starts after resolution (not a sponsor).
    override_reason: Optional[Reason] = None


class RoleRead(ResponseModel):
    email: str = Field(validation_alias=AliasPath("person", "email"))
    name: str = Field(validation_alias=AliasPath("person", "name"))
    role: str
    started_at: datetime
    ended_at: Optional[datetime]
    handed_to: Optional[EmailOf]


class LinkRead(ResponseModel):
    title: str
    url: str


class IncidentRead(ResponseModel):
    id: int
    title: str
    severity: SeverityField
    status: Status
    visibility: VisibilityField
    description: str
    commander: Optional[EmailOf]
    external_id: Optional[str]
    started_at: datetime
    detected_at: Optional[datetime]
    resolved_at: Optional[datetime]
    roles: list[RoleRead]
    links: list[LinkRead]
    services: list[str] = Field(validation_alias="service_names")
    retrospective_id: Optional[int] = None


class IncidentList(ResponseModel):
    items: list[IncidentRead]


class EventCreate(RequestModel):
    occurred_at: Timestamp
    text: Annotated[Text, StringConstraints(max_length=20_000)]
    author: Optional[Annotated[str, StringConstraints(max_length=320)]] = None
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = "note"
    external_id: Optional[Annotated[Text, StringConstraints(max_length=200)]] = None


EventsCreate = Union[EventCreate, Annotated[list[EventCreate], Field(min_length=1, max_length=10_000)]]


class EventRead(ResponseModel):
    id: int
    occurred_at: datetime
    text: str
    author: Optional[str]
    kind: str
    source: str
    external_id: Optional[str]


class EventList(ResponseModel):
    items: list[EventRead]


class EventsAdded(ResponseModel):
    items: list[EventRead]
    created: int
    duplicates: int

