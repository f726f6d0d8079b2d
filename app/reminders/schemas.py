"""Request and response shapes of the reminders domain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Optional

from pydantic import StringConstraints, field_validator

from app.core.schemas import RequestModel, ResponseModel

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
_AS_OF_RANGE = timedelta(days=366)


class ReminderRun(RequestModel):
    as_of: Optional[date] = None

    @field_validator("as_of")
    @classmethod
    def _near_today(cls, value: date | None) -> date | None:
        if value is not None and abs(value - date.today()) > _AS_OF_RANGE:
            raise ValueError("must be within a year of today")
        return value


class ReminderRunRead(ResponseModel):
    as_of: date
    emails_sent: int
    items: int
    failed: int
    mail_enabled: bool


class SnoozeCreate(RequestModel):
    until: date
    reason: Reason


class SnoozeRead(ResponseModel):
    action_item_id: int
    until: date
    reason: str
    by: Optional[str]
    created_at: datetime


class MailFailure(ResponseModel):
    kind: str
    recipient: str
    day: Optional[date]
    items: Optional[int]
    attempts: int
    last_error: Optional[str]
    last_attempt_at: Optional[datetime]
    next_attempt_at: Optional[datetime]
    retrospective_id: Optional[int]


class MailFailures(ResponseModel):
    items: list[MailFailure]


def snooze_read(snooze) -> SnoozeRead:  # type: ignore[no-untyped-def]
    return SnoozeRead(
        action_item_id=snooze.action_item_id, until=snooze.until, reason=snooze.reason,
        by=snooze.by.email if snooze.by else None, created_at=snooze.created_at,
    )
