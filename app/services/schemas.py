"""Request and response shapes for services and teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional

from pydantic import BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.schemas import WHITE_SPACE, JsonPattern, RequestModel, ResponseModel, UpdateModel

# A service's or team's name: lower-case letters, digits and . _ - (as Backstage names are, lower-cased),
# starting and ending with a letter or digit. White space around it is stripped.
NAME_RULE = r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$"
NAME_LENGTH = 100


def _length_as_sent(value: object) -> object:
    """maxLength counts the name as sent, white space included, as the OpenAPI document says (also in a
    list of names, which `RequestModel`'s own check of top-level fields does not reach)."""
    if isinstance(value, str) and len(value) > NAME_LENGTH:
        raise PydanticCustomError("string_too_long", "String should have at most {max_length} characters",
                                  {"max_length": NAME_LENGTH})
    return value


Name = Annotated[
    str, BeforeValidator(_length_as_sent), StringConstraints(strip_whitespace=True, max_length=100, pattern=NAME_RULE),
    JsonPattern(rf"^[{WHITE_SPACE}]*[a-z0-9](?:[a-z0-9._-]{{0,98}}[a-z0-9])?[{WHITE_SPACE}]*$"),
]
Description = Annotated[str, StringConstraints(max_length=2000)]
# The services an incident touched, by name (each must be in the catalogue).
ServiceNames = Annotated[list[Name], Field(max_length=50)]


class ServiceCreate(RequestModel):
    """A service for the catalogue; a team not known yet is created with it."""

    name: Name
    team: Optional[Name] = None
    description: Description = ""


class ServiceUpdate(UpdateModel):
    NULLABLE = frozenset({"team"})

    team: Optional[Name] = None
    description: Optional[Description] = None


class ServiceRead(ResponseModel):
    id: int
    name: str
    team: Optional[str] = Field(validation_alias="team_name")
    description: str
    created_at: datetime
    updated_at: datetime


class ServiceList(ResponseModel):
    items: list[ServiceRead]


class TeamCreate(RequestModel):
    name: Name


class TeamRead(ResponseModel):
    id: int
    name: str
    services: list[str] = Field(validation_alias="service_names")


class TeamList(ResponseModel):
    items: list[TeamRead]


class ImportResult(ResponseModel):
    """What an import did: services created, updated and left as they were, and teams created."""

    created: int
    updated: int
    unchanged: int
    teams_created: int
