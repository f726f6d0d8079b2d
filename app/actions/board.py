"""The action-item board's reads: one filtered, sorted page of rows and how many match, in one query.

What the board shows of each item (its owner, its incident's title and severity, its snooze) is
joined into that one query, so a page of 50 costs the same few queries as a page of 5. Every
filter is applied in SQL; who may see what is the one rule of `app.incidents.access`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter, ColumnElement, Date, Integer, Row, Select, String, and_, bindparam, case, func, literal, or_, select,
    true, union_all,
)
from sqlalchemy.orm import Session, aliased

from app.actions.models import ActionItem, ActionStatus, SyncStatus
from app.auth.models import User
from app.core.errors import NotFound, ValidationFailed
from app.incidents.access import incident_visible_to, visible_incidents
from app.incidents.models import Incident, IncidentRole, Severity, Visibility
from app.people.models import Person
from app.reminders.models import ReminderSnooze
from app.services.models import Service, Team
from app.retros.models import RetroParticipant, Retrospective

SCOPES = ("all", "mine", "incidents")
SORTS = ("overdue", "due", "owner", "status", "severity", "updated")
MAX_ID = 2**31 - 1
MAX_PAGE = 10_000
COUNT_UP_TO = 1000


@dataclass(frozen=True)
class BoardQuery:
    """What a board view shows: its scope, filters, sort and page; all of it kept in the URL."""

    scope: str = "all"
    q: str = ""
    owner: str = ""
    status: str = ""
    severity: str = ""
    incident: int | None = None
    retrospective_id: int | None = None
    due_before: date | None = None
    sync: str = ""
    overdue: bool = False
    service: str = ""
    team: str = ""
    sort: str = "overdue"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BoardQuery:
        """The view a URL's query asks for; anything not understood is left out rather than refused."""
        def choice(name: str, allowed: tuple[str, ...] | list[str], default: str = "") -> str:
            value = (args.get(name) or "").strip()
            return value if value in allowed else default

        def number(name: str, top: int = MAX_ID) -> int | None:
            value = (args.get(name) or "").strip().lstrip("#")
            return int(value) if value.isascii() and value.isdigit() and 1 <= int(value) <= top else None

        try:
            due_before = date.fromisoformat(args.get("due_before") or "") if args.get("due_before") else None
        except ValueError:
            due_before = None
        return cls(
            scope=choice("scope", SCOPES, "all"), q=(args.get("q") or "").strip()[:200],
            owner=(args.get("owner") or "").strip()[:200], status=choice("status", [s.value for s in ActionStatus]),
            severity=choice("severity", [s.value for s in Severity]), incident=number("incident"),
            retrospective_id=number("retrospective_id"), due_before=due_before,
            sync=choice("sync", [s.value for s in SyncStatus]), overdue=args.get("overdue") == "true",
            service=(args.get("service") or "").strip().lower()[:100], team=(args.get("team") or "").strip().lower()[:100],
            sort=choice("sort", SORTS, "overdue"), page=number("page", MAX_PAGE) or 1,
        )

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The URL query of this view (with `changes`), defaults left out so links stay short."""
        view = replace(self, **changes)
        default = BoardQuery()
        args: dict[str, str] = {}
        for item in fields(self):
            value = getattr(view, item.name)
            if value == getattr(default, item.name):
                continue
            args[item.name] = ("true" if value else "") if isinstance(value, bool) else \
                value.isoformat() if isinstance(value, date) else str(value)
        return args

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the view besides its scope."""
        return any(self.to_args(scope="all", sort="overdue", page=1).values())


@dataclass(frozen=True)
class BoardRow:
    """One item as the board shows it."""

    id: int
    title: str
    due_date: date
    status: str
    priority: str
    oversized: bool
    jira_key: str | None
    sync_status: str
    updated_at: datetime
    owner_id: int
    owner_name: str
    owner_email: str
    retrospective_id: int
    incident_id: int
    incident_title: str
    severity: str
    private: bool
    overdue: bool
    snoozed_until: date | None

    @property
    def still_open(self) -> bool:
        return self.status in ActionStatus.still_open()

    def days_late(self, today: date) -> int:
        """How many days an overdue item is past its due date."""
        return (today - self.due_date).days


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    total: int  # how many match, or the bound counted up to when not `exact`
    exact: bool
    page: int
    size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.size < self.total or (not self.exact and len(self.rows) == self.size)

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.size + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        return (self.page - 1) * self.size + len(self.rows)


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
class _Shape:
    """What a view's statements depend on besides the values bound to them."""

    admin: bool
    scope: str
    sort: str
    status: str  # "" (any), "open" (a still-open status) or "closed"
    filters: frozenset[str]  # the names of the other filters set

    @classmethod
    def of(cls, view: BoardQuery, *, admin: bool) -> _Shape:
        status = "" if not view.status else "open" if view.status in _STILL_OPEN else "closed"
        names = ("q", "owner", "severity", "incident", "retrospective_id", "due_before", "sync", "overdue", "service",
                 "team")
        return cls(admin=admin, scope=view.scope, sort=view.sort, status=status,
                   filters=frozenset(name for name in names if getattr(view, name)))  # numbers are >= 1


def _values(view: BoardQuery) -> dict[str, Any]:
    """The view's values, named as the parameters of its statements."""
    return {
        "board_q": like_pattern(view.q), "board_owner": like_pattern(view.owner), "board_email": view.owner.lower(),
        "board_status": view.status, "board_severity": view.severity, "board_incident": view.incident,
        "board_retrospective_id": view.retrospective_id, "board_due_before": view.due_before, "board_sync": view.sync,
        "board_service": view.service, "board_team": view.team,
    }


def _filtered(query: Select[Any], shape: _Shape) -> Select[Any]:
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


def _late_first(rows_query: Select[Any], shape: _Shape) -> Select[Any]:
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
def _statements(shape: _Shape) -> tuple[Select[Any], Select[Any]]:
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


def board_page(session: Session, *, viewer: User, view: BoardQuery, today: date, size: int) -> BoardPage:
    """One page of the board: the rows of `view` the viewer may see, sorted, with how many match.

    `today` is the organisation's day (what "overdue" is measured against). One query whatever the
    size: the rows, each with the count (exact up to `COUNT_UP_TO` or the end of the page asked for);
    a page past the end (items closed meanwhile) counts, then shows the last page instead.
    """
    count, rows_query = _statements(_Shape.of(view, admin=viewer.is_admin))
    # Counted up to a bound: "more than 1,000" is all a person needs of a broad view, and it stays fast.
    bound = max(COUNT_UP_TO, view.page * size) + 1
    params = {VIEWER: viewer.person_id, "board_today": today, "board_bound": bound, "board_size": size, **_values(view)}
    page = view.page
    found = session.execute(rows_query, params | {"board_offset": (page - 1) * size}).all()
    if found:
        total = found[0].total
    elif page == 1:
        total = 0
    else:
        total = session.scalar(count, params) or 0
        if total and total < bound:  # past the end (items closed meanwhile): the last page instead
            page = (total - 1) // size + 1
            found = session.execute(rows_query, params | {"board_offset": (page - 1) * size}).all()
    exact = total < bound
    return BoardPage(rows=[_board_row(row) for row in found], total=total if exact else bound - 1, exact=exact,
                     page=page, size=size)


def _board_row(row: Row[Any]) -> BoardRow:
    values = row._asdict()
    del values["total"]
    return BoardRow(**values | {"private": bool(row.private), "overdue": bool(row.overdue)})


def people_names(session: Session) -> list[Any]:
    """Everyone who may be typed into an owner field, by name (for the page's suggestions): rows of name and email."""
    return list(session.execute(select(Person.name, Person.email).order_by(Person.name, Person.id)))


def find_owner(session: Session, text: str, *, field: str = "owner") -> Person:
    """The person typed into an owner field: an email, or a name (any case) only one person has.

    Raises ValidationFailed `unknown_person` when nobody matches and `ambiguous_person` when several do.
    """
    typed = text.strip()
    if not typed:
        raise ValidationFailed("An owner is required.", fields={field: "is required"})
    found = list(session.scalars(
        select(Person).where(or_(Person.email == typed.lower(), func.lower(Person.name) == typed.lower()))
        .order_by(Person.id).limit(3)
    ))
    exact = [p for p in found if p.email == typed.lower()]
    if exact:
        return exact[0]
    if not found:
        raise ValidationFailed(f"No person is called {typed}.", code="unknown_person",
                               fields={field: "pick someone from the list, or type their email."})
    if len(found) > 1:
        raise ValidationFailed(f"More than one person is called {typed}.", code="ambiguous_person",
                               fields={field: "more than one person has this name: type their email."})
    return found[0]


def items_for_change(session: Session, *, viewer: User, item_ids: list[int]) -> list[ActionItem]:
    """The items to change, locked, in id order; NotFound if any is missing or hidden from the viewer.

    All or nothing: a list naming an item the viewer may not see changes none, and says no more than
    "not found" (the same answer as for an item that does not exist).
    """
    wanted = sorted(set(item_ids))
    if not wanted:
        return []
    query = (select(ActionItem).join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
             .join(Incident, Incident.id == Retrospective.incident_id)
             .where(ActionItem.id.in_(wanted), visible_incidents(viewer))
             .order_by(ActionItem.id).with_for_update(of=ActionItem))
    items = list(session.scalars(query))
    if len(items) != len(wanted):
        raise NotFound("One of the action items does not exist.")
    return items

