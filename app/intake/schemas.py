"""Request and response shapes of intake: the generic PUT, the webhooks' answer, stored sender users."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field, StringConstraints

from app.core.schemas import Email, RequestModel, ResponseModel, Timestamp, UpdateModel
from app.incidents.schemas import LinkIn, SeverityField, Status, Title, VisibilityField

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"


class ExternalIncidentPut(UpdateModel):
    """`POST /incidents`'s fields, all optional (title, severity and commander are needed to create),
    plus `status` and `resolved_at`."""

    title: Optional[Title] = None
    severity: Optional[SeverityField] = None
    description: Optional[Annotated[str, StringConstraints(max_length=100_000)]] = None
    visibility: Optional[VisibilityField] = None
    commander: Optional[Email] = None
    started_at: Optional[Timestamp] = None
    detected_at: Optional[Timestamp] = None
    links: Optional[list[LinkIn]] = Field(default=None, max_length=100)
    status: Optional[Status] = None
    resolved_at: Optional[Timestamp] = None


class WebhookReceived(ResponseModel):
    """`applied`, `duplicate` (this event was applied before) or `ignored` (an event type intake does not use)."""

    outcome: str
    incident_id: Optional[int] = None


class SenderUserPut(RequestModel):
    email: Email


class SenderUserRead(ResponseModel):
    source: str
    user_id: str
    email: Optional[str]


class SenderUserList(ResponseModel):
    items: list[SenderUserRead]
