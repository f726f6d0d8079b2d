"""The action-item board's reads: one filtered, sorted page of rows and how many match, in one query (its SQL: board_sql).

What the board shows of each item (its owner, its incident's title and severity, its snooze) is
joined into that one query, so a page of 50 costs the same few queries as a page of 5. Every
filter is applied in SQL; who may see what is the one rule of `app.incidents.access`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from app.actions.board_sql import VIEWER, Shape, statements, values_of
from app.actions.models import ActionItem, ActionStatus, SyncStatus
from app.auth.models import User
from app.core.errors import NotFound, ValidationFailed
from app.core.schemas import MAX_ID, whole_number
from app.incidents.access import visible_incidents
from app.incidents.models import Incident, Severity
from app.people.models import Person
from app.retros.models import Retrospective

SCOPES = ("all", "mine", "incidents")
SORTS = ("overdue", "due", "owner", "status", "severity", "updated")
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
            return whole_number((args.get(name) or "").strip().lstrip("#"), high=top)

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


def board_page(session: Session, *, viewer: User, view: BoardQuery, today: date, size: int) -> BoardPage:
    """One page of the board: the rows of `view` the viewer may see, sorted, with how many match.

    `today` is the organisation's day (what "overdue" is measured against). One query whatever the
    size: the rows, each with the count (exact up to `COUNT_UP_TO` or the end of the page asked for);
    a page past the end (items closed meanwhile) counts, then shows the last page instead.
    """
    count, rows_query = statements(Shape.of(view, admin=viewer.is_admin))
    # Counted up to a bound: "more than 1,000" is all a person needs of a broad view, and it stays fast.
    bound = max(COUNT_UP_TO, view.page * size) + 1
    params = {VIEWER: viewer.person_id, "board_today": today, "board_bound": bound, "board_size": size, **values_of(view)}
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

