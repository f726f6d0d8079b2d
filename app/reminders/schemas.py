"""Request and response shapes of the reminders domain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from app.core.errors import ValidationFailed
from app.core.schemas import Day, EmailOf, Reason, RequestModel, ResponseModel

_AS_OF_RANGE = timedelta(days=366)


class ReminderRun(RequestModel):
    """The body is optional: without `as_of` the digests are those due today."""

    as_of: Optional[Day] = None

    def check_near(self, today: date) -> None:
        """`as_of` within a year of today (a bound the OpenAPI document cannot state)."""
        if self.as_of is not None and abs(self.as_of - today) > _AS_OF_RANGE:
            raise ValidationFailed("as_of is more than a year away from today.",
                                   fields={"as_of": "must be within a year of today"})


class ReminderRunRead(ResponseModel):
    as_of: date
    emails_sent: int
    items: int
    failed: int
    mail_enabled: bool


class SnoozeCreate(RequestModel):
    until: Day
    reason: Reason


class SnoozeRead(ResponseModel):
    action_item_id: int
    until: date
    reason: str
    by: Optional[EmailOf]
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

