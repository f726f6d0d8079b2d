"""Request and response shapes for action items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Optional

from pydantic import Field, StringConstraints

from app.actions.models import ActionStatus, Priority, SyncStatus
from app.services.schemas import Name as ServiceName
from app.core.schemas import Day, Email, EmailOf, Id, Line, RequestModel, ResponseModel, UpdateModel, choice

Status = choice(ActionStatus)
PriorityField = choice(Priority)
SyncStatusField = choice(SyncStatus)
Title = Annotated[Line, StringConstraints(max_length=300)]
Description = Annotated[str, StringConstraints(max_length=20_000)]


class ActionItemCreate(RequestModel):
    title: Title
    owner: Email
    due_date: Day
    description: Description = ""
    priority: PriorityField = Priority.MEDIUM
    # The service it is filed against, by name (from the catalogue).
    service: Optional[ServiceName] = None


class ActionItemUpdate(UpdateModel):
    NULLABLE = frozenset({"service"})

    title: Optional[Title] = None
    owner: Optional[Email] = None
    due_date: Optional[Day] = None
    status: Optional[Status] = None
    description: Optional[Description] = None
    priority: Optional[PriorityField] = None
    service: Optional[ServiceName] = None


class ActionItemSplit(RequestModel):
    """The smaller items that replace one; `close_original` marks it wont_do once split."""

    items: list[ActionItemCreate] = Field(min_length=1, max_length=20)
    close_original: bool = False


class ActionItemQuery(RequestModel):
    owner: Optional[Email] = None
    status: Optional[Status] = None
    overdue: Optional[bool] = None
    retrospective_id: Optional[Id] = None
    limit: Optional[int] = Field(default=None, ge=1, le=10_000)
    cursor: Optional[Annotated[str, StringConstraints(max_length=200)]] = None


# Built from an ActionItem (`model_validate(item)`); `warnings` come from the change, not the item (`of`).
class ActionItemRead(ResponseModel):
    id: int
    retrospective_id: int
    title: str
    description: str
    owner: EmailOf
    due_date: date
    status: Status
    priority: PriorityField
    oversized: bool
    jira_key: Optional[str]
    sync_status: SyncStatusField
    last_sync_error: Optional[str]
    parent_id: Optional[int]
    service: Optional[str] = Field(validation_alias="service_name")
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, item: object, warnings: list[str] | None = None) -> ActionItemRead:
        """The item as read, with the warnings its change raised."""
        return cls.model_validate(item).model_copy(update={"warnings": warnings or []})


class ActionItemList(ResponseModel):
    items: list[ActionItemRead]
    total: int
    next_cursor: Optional[str]


class SplitResult(ResponseModel):
    original: ActionItemRead
    items: list[ActionItemRead]


class ChangeRead(ResponseModel):
    field: str
    old: Optional[str]
    new: Optional[str]
    via: str
    by: Optional[str] = Field(validation_alias="by_label")
    at: datetime
    applied: bool
    note: Optional[str]


class HistoryRead(ResponseModel):
    items: list[ChangeRead]


class SyncCounts(ResponseModel):
    enabled: bool
    created: int
    updated: int
    pulled: int
    failed: int

