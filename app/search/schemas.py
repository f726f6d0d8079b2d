"""Shapes of the search question and its answer."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from app.core.schemas import Day, Line, RequestModel, ResponseModel
from app.incidents.schemas import SeverityField, Status
from app.retros.models import RetroStatus

Name = Annotated[Line, StringConstraints(max_length=200)]


class SearchQuery(RequestModel):
    """What to find and where: `q` in websearch syntax (words, "a phrase", `or`, `-word`); the filters
    apply to the incident each thing belongs to, `since` and `until` (both included, organisation-local
    days) to its start. `since` <= `until` is checked by the route: the OpenAPI document cannot say it."""

    q: Annotated[Line, StringConstraints(max_length=500)]
    severity: Optional[SeverityField] = None
    status: Optional[Status] = None
    service: Optional[Name] = None
    factor: Optional[Name] = None
    since: Optional[Day] = None
    until: Optional[Day] = None
    limit: int = Field(default=20, ge=1, le=100)


class SearchHit(ResponseModel):
    kind: Literal["incident", "event", "section", "action_item"]
    incident_id: int
    title: str = Field(description="the incident's title for an incident or an event; the section's or the "
                                   "action item's own title for those")
    snippet: str = Field(description="HTML: the text around the words found, escaped, each match in <mark>")


class SearchList(ResponseModel):
    items: list[SearchHit] = Field(description="best first")


class RelatedIncident(ResponseModel):
    incident_id: int
    title: str
    reasons: list[str] = Field(description='why it is alike, in words: "shares the service checkout-api", '
                                           '"same contributing factor: Change: deploy", "similar words: failover, primary"')
    retro_status: Optional[RetroStatus] = Field(
        default=None, description="its retro's status; null while it has none")
    open_action_items: int = Field(description="its retro's action items still open or in progress")


class RelatedList(ResponseModel):
    items: list[RelatedIncident] = Field(description="most alike first, then the most recent")
