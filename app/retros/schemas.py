"""Request and response shapes for retrospectives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional

from pydantic import Field, StringConstraints

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



# A factor of the taxonomy: "category" or "category.kind" (config `factors.categories`).
FactorKey = Annotated[str, StringConstraints(strip_whitespace=True, max_length=130,
                                             pattern=r"^[a-z][a-z0-9_]{0,62}(?:\.[a-z][a-z0-9_]{0,62})?$")]


class FactorCreate(RequestModel):
    """A contributing factor named in the meeting, with a short note on how it contributed."""

    factor: FactorKey
    note: Annotated[str, StringConstraints(max_length=1000)] = ""


class FactorRead(ResponseModel):
    factor: str
    category: str
    label: str
    category_label: str
    note: str
    by: Optional[str]
    at: datetime


class FactorList(ResponseModel):
    items: list[FactorRead]


class FactorKindRead(ResponseModel):
    key: str
    label: str


class FactorCategoryRead(ResponseModel):
    key: str
    label: str
    kinds: list[FactorKindRead]


class Taxonomy(ResponseModel):
    categories: list[FactorCategoryRead]
