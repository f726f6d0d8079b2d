"""Request and response shapes for people."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import StringConstraints, field_validator

from app.core.schemas import Email, Line, RequestModel, ResponseModel


class PersonCreate(RequestModel):
    name: Annotated[Line, StringConstraints(max_length=200)]
    email: Email
    timezone: Optional[str] = None
    jira_account_id: Optional[Annotated[str, StringConstraints(max_length=128)]] = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class PersonRead(ResponseModel):
    id: int
    name: str
    email: str
    timezone: Optional[str]
    jira_account_id: Optional[str]


class PersonList(ResponseModel):
    items: list[PersonRead]
