"""Request and response shapes for retrospectives."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import Field

from app.core.schemas import Email, EmailOf, Reason, RequestModel, ResponseModel, Timestamp, UpdateModel, choice
from app.retros.models import RetroStatus

Status = choice(RetroStatus)
# A retro is withdrawn only by reopening its incident, never by this field.
SettableStatus = choice(
    RetroStatus, RetroStatus.PENDING, RetroStatus.SCHEDULED, RetroStatus.COMPLETED, RetroStatus.PUBLISHED
)


class RetroUpdate(UpdateModel):
    """`reason` says why the status changes: kept in the retro's history, required to reopen a completed retro."""

    NULLABLE = frozenset({"scheduled_for", "facilitator", "override_reason", "reason"})

    scheduled_for: Optional[Timestamp] = None
    facilitator: Optional[Email] = None
    participants: Optional[list[Email]] = Field(default=None, max_length=500)
    status: Optional[SettableStatus] = None
    override_reason: Optional[Reason] = None
    reason: Optional[Reason] = None


class RetroReopen(RequestModel):
    """The facilitation page's reopen form: why the completed retro is reopened."""

    reason: Reason


class HighlightRead(ResponseModel):
    event_id: int
    highlighted: bool


class StatusChangeRead(ResponseModel):
    previous: Status
    status: Status
    reason: str
    by: Optional[EmailOf]
    at: datetime


class OverrideRead(ResponseModel):
    rule: str
    reason: str
    detail: str
    by: Optional[EmailOf]
    at: datetime


class RetroRead(ResponseModel):
    id: int
    incident_id: int
    status: Status
    deadline_at: datetime
    target_at: datetime
    suggested_slot: Optional[datetime]
    scheduled_for: Optional[datetime]
    facilitator: Optional[EmailOf]
    suggested_facilitator: Optional[EmailOf]
    participants: list[EmailOf]
    template: str
    overrides: list[OverrideRead]
    history: list[StatusChangeRead]
    warnings: list[str]

