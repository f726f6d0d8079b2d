"""The board's SQL: the statements of each shape of view, built once, every value of a view a parameter.

Building a statement takes longer than running it, and a statement built once keeps its SQLAlchemy
cache key, so a request only binds values (`values_of`). Overdue-first is read as walks in due-date
order that the filters can rule out (`_late_first`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter, ColumnElement, Date, Integer, Select, String, and_, bindparam, case, func, literal, or_, select,
    true, union_all,
)
from sqlalchemy.orm import aliased

from app.actions.models import ActionItem, ActionStatus
from app.incidents.access import incident_visible_to
from app.incidents.models import Incident, IncidentRole, Severity, Visibility
from app.people.models import Person
from app.reminders.models import ReminderSnooze
from app.retros.models import RetroParticipant, Retrospective
from app.services.models import Service, Team


class View(Protocol):
    """What the statements read of a board view (`app.actions.board.BoardQuery`)."""

    scope: str
    sort: str
    q: str
    owner: str
    status: str
    severity: str
    incident: int | None
    retrospective_id: int | None
    due_before: date | None
    sync: str
    overdue: bool
    service: str
    team: str


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The board's queries are built once for each shape of view (which filters are set, the scope, the sort,
# whether the viewer is an admin), every value of the view a parameter: building a statement takes longer
# than running it, and a statement built once keeps its SQLAlchemy cache key, so a request only binds values.
VIEWER = "board_viewer"
_viewer = bindparam(VIEWER, type_=Integer)
_today = bindparam("board_today", type_=Date)
_STILL_OPEN = tuple(ActionStatus.still_open())


def _param(name: str, type_: Any = String) -> BindParameter[Any]:
    return bindparam(f"board_{name}", type_=type_)


@functools.cache
def _visible_to_viewer() -> ColumnElement[bool]:
    """The one visibility rule (`incident_visible_to`), for the viewer given as the `VIEWER` parameter."""
    return incident_visible_to(_viewer)


@functools.cache
def _involved() -> ColumnElement[bool]:
    """The item's incident is one the viewer held a role in, or whose retro they facilitate or take part in."""
    person_id = _viewer
    role = aliased(IncidentRole)
    participant = aliased(RetroParticipant)
    return or_(
        Retrospective.facilitator_id == person_id,
        select(role.id).where(role.incident_id == Incident.id, role.person_id == person_id)
        .correlate_except(role).exists(),
        select(participant.id).where(participant.retrospective_id == Retrospective.id,
                                     participant.person_id == person_id).correlate_except(participant).exists(),
    )


_STATUS_ORDER = {status.value: n for n, status in enumerate(ActionStatus)}
_SEVERITY_ORDER = {severity.value: n for n, severity in enumerate(Severity)}


@dataclass(frozen=True)
class Shape:
    """What a view's statements depend on besides the values bound to them."""

    admin: bool
    scope: str
    sort: str
    status: str  # "" (any), "open" (a still-open status) or "closed"
    filters: frozenset[str]  # the names of the other filters set

    @classmethod
    def of(cls, view: View, *, admin: bool) -> Shape:
        status = "" if not view.status else "open" if view.status in _STILL_OPEN else "closed"
        names = ("q", "owner", "severity", "incident", "retrospective_id", "due_before", "sync", "overdue", "service",
                 "team")
        return cls(admin=admin, scope=view.scope, sort=view.sort, status=status,
                   filters=frozenset(name for name in names if getattr(view, name)))  # numbers are >= 1


def values_of(view: View) -> dict[str, Any]:
    """The view's values, named as the parameters of its statements."""
    return {
        "board_q": like_pattern(view.q), "board_owner": like_pattern(view.owner), "board_email": view.owner.lower(),
        "board_status": view.status, "board_severity": view.severity, "board_incident": view.incident,
        "board_retrospective_id": view.retrospective_id, "board_due_before": view.due_before, "board_sync": view.sync,
        "board_service": view.service, "board_team": view.team,
    }


def _filtered(query: Select[Any], shape: Shape) -> Select[Any]:
    query = query.where(true() if shape.admin else _visible_to_viewer())  # admins see every incident
    if shape.scope == "mine":
        query = query.where(ActionItem.owner_id == _viewer)
    elif shape.scope == "incidents":
        query = query.where(_involved())
    on = shape.filters
    if "q" in on:
        query = query.where(ActionItem.title.ilike(_param("q"), escape="\\"))
    if "owner" in on:
        query = query.where(or_(Person.name.ilike(_param("owner"), escape="\\"), Person.email == _param("email")))
    if shape.status:
        query = query.where(ActionItem.status == _param("status"))
    if "severity" in on:
        query = query.where(Incident.severity == _param("severity"))
    if "incident" in on:
        query = query.where(Retrospective.incident_id == _param("incident", Integer))
    if "retrospective_id" in on:
        query = query.where(ActionItem.retrospective_id == _param("retrospective_id", Integer))
    if "due_before" in on:
        query = query.where(ActionItem.due_date < _param("due_before", Date))
    if "sync" in on:
        query = query.where(ActionItem.sync_status == _param("sync"))
    if "overdue" in on:
        query = query.where(ActionItem.is_overdue(_today))
    if "service" in on:
        query = query.where(ActionItem.service_id == select(Service.id).where(Service.name == _param("service")).scalar_subquery())
    if "team" in on:
        # A team's items are those filed against its services (not those of incidents its services were in).
        query = query.where(ActionItem.service_id.in_(
            select(Service.id).join(Team, Team.id == Service.team_id).where(Team.name == _param("team"))))
    return query


def _joined(query: Select[Any], *, people: bool = True) -> Select[Any]:
    joined = (query.select_from(ActionItem)
              .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
              .join(Incident, Incident.id == Retrospective.incident_id))
    return joined.join(Person, Person.id == ActionItem.owner_id) if people else joined


def _order(sort: str, overdue: ColumnElement[bool]) -> list[Any]:
    late_first = case((overdue, 0), else_=1)
    then = [ActionItem.due_date, ActionItem.id]
    if sort == "due":
        return then
    if sort == "owner":
        return [Person.name, Person.id, late_first, *then]
    if sort == "status":
        return [case(_STATUS_ORDER, value=ActionItem.status, else_=len(_STATUS_ORDER)), late_first, *then]
    if sort == "severity":
        return [case(_SEVERITY_ORDER, value=Incident.severity, else_=len(_SEVERITY_ORDER)), late_first, *then]
    if sort == "updated":
        return [ActionItem.updated_at.desc(), ActionItem.id.desc()]
    return [late_first, *then]


_offset = _param("offset", Integer)
_size = _param("size", Integer)
_bound = _param("bound", Integer)


def _late_first(rows_query: Select[Any], shape: Shape) -> Select[Any]:
    """The rows overdue first, then by due date: each part of the items read in due-date order and merged.

    The overdue items, the still-open ones not yet due and the closed ones: each part can walk the
    (due_date, id) index from where it starts and stop after the rows the page needs, instead of
    sorting every visible item by a flag that changes each day. The parts a filter rules out are
    left out (an item in progress is never among the closed ones).
    """
    still_open = ActionItem.status.in_(_STILL_OPEN)
    parts = [(0, and_(still_open, ActionItem.due_date < _today)), (1, and_(still_open, ActionItem.due_date >= _today)),
             (1, ActionItem.status.not_in(_STILL_OPEN))]
    if "overdue" in shape.filters:
        parts = parts[:1]
    elif shape.status:
        parts = parts[:2] if shape.status == "open" else parts[2:]
    in_order = (ActionItem.due_date, ActionItem.id)
    if len(parts) == 1:
        return rows_query.where(parts[0][1]).order_by(*in_order).limit(_size).offset(_offset)
    wanted = _offset + _size
    branches = [
        select(rows_query.add_columns(literal(rank).label("late_rank")).where(part)
               .order_by(*in_order).limit(wanted).subquery())
        for rank, part in parts
    ]
    both = union_all(*branches).subquery()
    columns = [column for column in both.c if column.name != "late_rank"]
    return select(*columns).order_by(both.c.late_rank, both.c.due_date, both.c.id).limit(_size).offset(_offset)


@functools.lru_cache(maxsize=512)
def statements(shape: Shape) -> tuple[Select[Any], Select[Any]]:
    """The count (up to the `board_bound` parameter) and the page of rows of views of this shape.

    Each row also carries the count (`total`), so that a page with rows takes one query."""
    overdue = ActionItem.is_overdue(_today)
    columns = (
        ActionItem.id, ActionItem.title, ActionItem.due_date, ActionItem.status, ActionItem.priority,
        ActionItem.oversized, ActionItem.jira_key, ActionItem.sync_status, ActionItem.updated_at,
        ActionItem.owner_id, Person.name.label("owner_name"), Person.email.label("owner_email"),
        ActionItem.retrospective_id, Incident.id.label("incident_id"), Incident.title.label("incident_title"),
        Incident.severity, (Incident.visibility == Visibility.PRIVATE).label("private"), overdue.label("overdue"),
        ReminderSnooze.until.label("snoozed_until"),
    )
    rows_query = _filtered(_joined(select(*columns)), shape) \
        .outerjoin(ReminderSnooze, ReminderSnooze.action_item_id == ActionItem.id)
    matching = _filtered(_joined(select(ActionItem.id), people="owner" in shape.filters), shape)
    count = select(func.count()).select_from(matching.limit(_bound).subquery())
    total = count.scalar_subquery().label("total")
    few = "incident" in shape.filters or "retrospective_id" in shape.filters  # one incident's items: a handful
    if shape.sort == "overdue" and not few:
        rows = _late_first(rows_query, shape).add_columns(total)
    elif shape.sort in ("overdue", "due", "updated"):  # read from an index in that order, or a handful sorted
        rows = rows_query.add_columns(total).order_by(*_order(shape.sort, overdue)).limit(_size).offset(_offset)
    else:
        # Sorted by what no index holds: the page's ids are picked sorting narrow rows (the keys alone),
        # then read in full: sorting every visible item's whole row would spill to disk.
        order = _order(shape.sort, overdue)
        picked = matching if "owner" in shape.filters else matching.join(Person, Person.id == ActionItem.owner_id)
        ids = picked.order_by(*order).limit(_size).offset(_offset).subquery()
        rows = rows_query.add_columns(total).join(ids, ids.c.id == ActionItem.id).order_by(*order)
    return count, rows
