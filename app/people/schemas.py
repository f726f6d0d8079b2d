"""Request and response shapes for people."""

from __future__ import annotations

import functools
from typing import Annotated, Optional
from zoneinfo import available_timezones

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

from app.core.schemas import Email, Line, RequestModel, ResponseModel


@functools.cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def time_zones() -> list[str]:
    """Every IANA time zone name, sorted: what `TimeZone` takes."""
    return _zones()


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"{value!r} is not an IANA time zone")
    return value


# An IANA time zone name; the OpenAPI document lists them all.
TimeZone = Annotated[
    str, AfterValidator(_zone), WithJsonSchema({"type": "string", "enum": _zones()}, mode="validation")
]


class PersonCreate(RequestModel):
    name: Annotated[Line, StringConstraints(max_length=200)]
    email: Email
    timezone: Optional[TimeZone] = None
    jira_account_id: Optional[Annotated[str, StringConstraints(max_length=128)]] = None


# A PagerDuty user id: letters and digits, like PXPGF42 (what the intake's user matching takes).
PAGERDUTY_USER_ID = r"^[A-Za-z0-9]{1,64}$"


class PersonUpdate(RequestModel):
    """Everything an admin sets on a person; empty optional fields clear them."""

    name: Annotated[Line, StringConstraints(max_length=200)]
    email: Email
    timezone: Optional[TimeZone] = None
    jira_account_id: Optional[Annotated[str, StringConstraints(max_length=128)]] = None
    pagerduty_user_id: Optional[Annotated[str, StringConstraints(pattern=PAGERDUTY_USER_ID)]] = None
    active: bool = True


class PersonRead(ResponseModel):
    id: int
    name: str
    email: str
    timezone: Optional[str]
    jira_account_id: Optional[str]


class PersonList(ResponseModel):
    items: list[PersonRead]
