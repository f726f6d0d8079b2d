"""Building blocks shared by the request and response schemas."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator


def _lower(value: str) -> str:
    return value.strip().lower()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    if _CONTROL.search(value):
        raise ValueError("must be one line, without line breaks or other control characters")
    return value


EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def _utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}") from None
    if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return utc


# A timestamp in a request: the offset is required, and it is kept as UTC from then on.
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]
# A row id as it may appear in a request: ids are 32-bit integers in the database.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Email = Annotated[EmailStr, AfterValidator(_lower)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# One line of text (titles, names): no line breaks or other control characters, since it
# travels into email subjects, Jira summaries and page titles.
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line)]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class RequestModel(BaseModel):
    """A request body or query: unknown fields are refused by name, nothing is mass-assigned.

    Text holding NUL characters is refused by field: PostgreSQL cannot store them.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class UpdateModel(RequestModel):
    """A PATCH body: every field optional, but only those in NULLABLE may be sent as null."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    def null_fields(self) -> list[str]:
        return sorted(
            name for name in self.model_fields_set if getattr(self, name) is None and name not in self.NULLABLE
        )


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
