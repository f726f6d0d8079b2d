"""Request and response shapes for retrospectives."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import Field

from app.core.schemas import Email, Reason, ResponseModel, Timestamp, UpdateModel, choice
from app.retros.models import RetroStatus

Status = choice(RetroStatus)
# A retro is withdrawn only by reopening its incident, never by this field.
SettableStatus = choice(
    RetroStatus, RetroStatus.PENDING, RetroStatus.SCHEDULED, RetroStatus.COMPLETED, RetroStatus.PUBLISHED
)


class RetroUpdate(UpdateModel):
    NULLABLE = frozenset({"scheduled_for", "facilitator", "override_reason"})

    scheduled_for: Optional[Timestamp] = None
    facilitator: Optional[Email] = None
    participants: Optional[list[Email]] = Field(default=None, max_length=500)
    status: Optional[SettableStatus] = None
    override_reason: Optional[Reason] = None


class OverrideRead(ResponseModel):
    rule: str
    reason: str
    detail: str
    by: Optional[str]
    at: datetime


class RetroRead(ResponseModel):
    id: int
    incident_id: int
    status: Status
    deadline_at: datetime
    target_at: datetime
    suggested_slot: Optional[datetime]
    scheduled_for: Optional[datetime]
    facilitator: Optional[str]
    suggested_facilitator: Optional[str]
    participants: list[str]
    template: str
    overrides: list[OverrideRead]
    warnings: list[str]


def retro_read(retro, warnings: list[str]) -> RetroRead:  # type: ignore[no-untyped-def]
    """The API view of a retrospective model."""
    return RetroRead(
        id=retro.id, incident_id=retro.incident_id, status=retro.status,
        deadline_at=retro.deadline_at, target_at=retro.target_at, suggested_slot=retro.suggested_slot,
        scheduled_for=retro.scheduled_for,
        facilitator=retro.facilitator.email if retro.facilitator else None,
        suggested_facilitator=retro.suggested_facilitator.email if retro.suggested_facilitator else None,
        participants=[p.person.email for p in retro.participants],
        template=retro.template,
        overrides=[
            OverrideRead(rule=o.rule, reason=o.reason, detail=o.detail, by=o.by.email if o.by else None, at=o.at)
            for o in retro.overrides
        ],
        warnings=warnings,
    )
