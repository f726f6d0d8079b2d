"""Action items: created with an owner and a due date, changed with a history, queued for Jira."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionItemChange, ActionStatus, JiraOutbox, SyncStatus
from app.actions.schemas import ActionItemCreate, ActionItemSplit, ActionItemUpdate
from app.auth.models import User
from app.core.errors import NotFound, RuleViolation, ValidationFailed
from app.core.dates import org_today
from app.db import utcnow
from app.incidents.access import person_may_see, visible_incidents
from app.incidents.models import Incident
from app.people.models import Person
from app.people.service import find_person, require_person
from app.retros.models import Retrospective
from app.services.models import Service
from app.services.service import require_services
from config import Settings

# Fields whose changes Jira must receive.
SYNCED_FIELDS = ("title", "description", "owner", "due_date", "status", "priority")
# session.info key: the items queued for Jira in the session's transaction.
QUEUED_KEY = "jira_queued"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Person):
        return value.email
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def record_change(
    session: Session, *, item: ActionItem, field: str, old: Any, new: Any, via: str,
    actor: User | Person | str | None = None, at: datetime | None = None,
    note: str | None = None, applied: bool = True,
) -> ActionItemChange:
    """Append one change to the item's history.

    via: "web" | "api" | "jira" | "system". `actor` is a User, a Person, or a label (e.g. a
    Jira user's name). `applied=False` keeps a change that was refused or lost a conflict.
    """
    if via not in ("web", "api", "jira", "system"):
        raise ValueError(f"via must be web, api, jira or system, not {via!r}")
    actor_person = actor.person if isinstance(actor, User) else actor if isinstance(actor, Person) else None
    change = ActionItemChange(
        action_item_id=item.id, field=field, old=_text(old), new=_text(new), via=via,
        actor_id=actor_person.id if actor_person is not None else None,
        actor_label=actor if isinstance(actor, str) else None,
        at=at or utcnow(), note=note, applied=applied,
    )
    session.add(change)
    session.flush()
    return change


def history(session: Session, *, item: ActionItem) -> list[ActionItemChange]:
    """The item's changes, oldest first."""
    return list(session.scalars(
        select(ActionItemChange).where(ActionItemChange.action_item_id == item.id)
        .order_by(ActionItemChange.at, ActionItemChange.id)
    ))


def last_local_change_at(session: Session, *, item: ActionItem, field: str) -> datetime | None:
    """When the field was last changed in Hindsight (not by a pull from Jira)."""
    return session.scalar(
        select(func.max(ActionItemChange.at)).where(
            ActionItemChange.action_item_id == item.id, ActionItemChange.field == field,
            ActionItemChange.via != "jira", ActionItemChange.applied.is_(True),
        )
    )


# -- Jira outbox -------------------------------------------------------------------------

def enqueue_push(session: Session, *, item: ActionItem, settings: Settings) -> None:
    """Queue the item's current state for Jira, in this transaction (the sync job pushes it).

    Flows push what a transaction queued right after its commit (`app.actions.flows.push_after_commit`).

    Several changes before a push make one push: the row's version goes up, its schedule stays.
    """
    if not settings.jira.enabled:
        item.sync_status = SyncStatus.OFF
        return
    session.flush()
    row = session.scalar(select(JiraOutbox).where(JiraOutbox.action_item_id == item.id))
    if row is None:
        session.add(JiraOutbox(action_item_id=item.id, version=1, attempts=0, next_attempt_at=utcnow(), uncertain=False))
    else:
        row.version += 1
    if item.sync_status != SyncStatus.FAILED:
        # A failed item keeps showing its error until a push succeeds.
        item.sync_status = SyncStatus.PENDING
    session.flush()
    session.info.setdefault(QUEUED_KEY, set()).add(item.id)


def take_queued(session: Session) -> set[int]:
    """The ids of the items this session queued for Jira since the last call (for the attempt after the commit)."""
    return session.info.pop(QUEUED_KEY, set())


def requeue_incident_items(session: Session, *, incident: Any, settings: Settings) -> None:
    """Push again every item of the incident's retro (its title or visibility changed what Jira shows)."""
    items = session.scalars(
        select(ActionItem).join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .where(Retrospective.incident_id == incident.id, ActionItem.jira_key.is_not(None))
    ).all()
    for item in items:
        enqueue_push(session, item=item, settings=settings)


# -- rules -------------------------------------------------------------------------------

def due_date_warnings(due_date: date, *, settings: Settings, on_create: bool) -> tuple[list[str], bool]:
    """(warnings, oversized) for a due date: past ones and ones beyond action_items.max_weeks."""
    now = org_today(settings)
    found: list[str] = []
    if due_date < now:
        found.append(
            f"The due date {due_date.isoformat()} is already past"
            + (" (accepted: an item carried over from an older retro?)." if on_create else ".")
        )
    max_weeks = settings.action_items.max_weeks
    oversized = due_date > now + timedelta(weeks=max_weeks)
    if oversized:
        found.append(
            f"The due date is more than {max_weeks} weeks away: break the task down "
            f"(POST /api/v1/action-items/{{id}}/split) into pieces done within {max_weeks} weeks."
        )
    return found, oversized


def _require_owner(session: Session, *, email: str, retro: Retrospective, field: str = "owner") -> Person:
    person = require_person(session, email, field=field)
    if not person_may_see(session, person_id=person.id, incident_id=retro.incident_id):
        raise RuleViolation(
            f"{person.email} cannot see this private incident, so cannot own its action items "
            "(reminders would reach someone outside the team): pick a responder, the facilitator, "
            "a participant or an admin.",
            code="owner_cannot_view", fields={field: "cannot see this private incident"},
        )
    return person


def _service(session: Session, name: str | None) -> Service | None:
    """The catalogue's service called `name` (None: none); ValidationFailed naming `service` if unknown."""
    return require_services(session, [name], field="service")[0] if name else None


# -- reading -----------------------------------------------------------------------------

def _visible_items(viewer: User | None):  # type: ignore[no-untyped-def]
    return (
        select(ActionItem)
        .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(visible_incidents(viewer))
    )


def get_item(session: Session, *, viewer: User | None, item_id: int, for_update: bool = False) -> ActionItem:
    """The item, or NotFound: the same answer whether it is missing or its incident is private to the viewer."""
    query = _visible_items(viewer).where(ActionItem.id == item_id)
    if for_update:
        query = query.with_for_update(of=ActionItem)
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"Action item {item_id} does not exist.")
    return item


def _encode_cursor(item: ActionItem) -> str:
    return base64.urlsafe_b64encode(f"{item.due_date.isoformat()}|{item.id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[date, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, _, ident = raw.partition("|")
        return date.fromisoformat(due), int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "The cursor is not one this list gave out.", fields={"cursor": "is not a cursor from this list"}
        ) from None


def list_items(
    session: Session, *, viewer: User, settings: Settings, owner: str | None = None, status: str | None = None,
    overdue: bool | None = None, retrospective_id: int | None = None, limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[ActionItem], int, str | None]:
    """A page of the items the viewer may see, by due date: (items, total matching, next cursor)."""
    query = _visible_items(viewer)
    if owner is not None:
        person = find_person(session, owner)
        if person is None:
            return [], 0, None
        query = query.where(ActionItem.owner_id == person.id)
    if status is not None:
        query = query.where(ActionItem.status == status)
    if retrospective_id is not None:
        query = query.where(ActionItem.retrospective_id == retrospective_id)
    if overdue is not None:
        late = ActionItem.is_overdue(org_today(settings))
        query = query.where(late if overdue else ~late)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    size = min(limit or settings.action_items.page_size, settings.action_items.max_page_size)
    if cursor:
        due, ident = _decode_cursor(cursor)
        query = query.where(or_(ActionItem.due_date > due, and_(ActionItem.due_date == due, ActionItem.id > ident)))
    items = list(session.scalars(query.order_by(ActionItem.due_date, ActionItem.id).limit(size + 1)))
    next_cursor = _encode_cursor(items[size - 1]) if len(items) > size else None
    return items[:size], total, next_cursor


# -- changing ----------------------------------------------------------------------------

def create_item(
    session: Session, *, retro: Retrospective, data: ActionItemCreate, actor: User | None, via: str,
    settings: Settings, parent: ActionItem | None = None,
) -> tuple[ActionItem, list[str]]:
    """Add an action item to a retro; returns it with warnings (past due date, oversized)."""
    owner = _require_owner(session, email=data.owner, retro=retro)
    warnings, oversized = due_date_warnings(data.due_date, settings=settings, on_create=True)
    item = ActionItem(
        retrospective=retro, title=data.title, description=data.description, owner=owner,
        due_date=data.due_date, status="open", priority=data.priority, oversized=oversized,
        parent_id=parent.id if parent is not None else None,
        sync_status="pending" if settings.jira.enabled else "off",
        service=_service(session, data.service),
    )
    session.add(item)
    session.flush()
    record_change(session, item=item, field="created", old=None, new=item.title, via=via, actor=actor,
                  note=f"split from #{parent.id}" if parent is not None else None)
    enqueue_push(session, item=item, settings=settings)
    return item, warnings


def update_item(
    session: Session, *, item: ActionItem, data: ActionItemUpdate, actor: User | None, via: str, settings: Settings,
) -> list[str]:
    """Apply the given fields, each change into the history; returns warnings about the due date."""
    changes = data.model_dump(exclude_unset=True)
    warnings: list[str] = []
    changed: list[str] = []
    retro = item.retrospective
    for name in ("title", "description", "status", "priority"):
        if name in changes and changes[name] != getattr(item, name):
            record_change(session, item=item, field=name, old=getattr(item, name), new=changes[name], via=via, actor=actor)
            setattr(item, name, changes[name])
            changed.append(name)
    if "owner" in changes and changes["owner"] != item.owner.email:
        owner = _require_owner(session, email=changes["owner"], retro=retro)
        record_change(session, item=item, field="owner", old=item.owner, new=owner, via=via, actor=actor)
        item.owner = owner
        changed.append("owner")
    if "due_date" in changes and changes["due_date"] != item.due_date:
        warnings, oversized = due_date_warnings(changes["due_date"], settings=settings, on_create=False)
        record_change(session, item=item, field="due_date", old=item.due_date, new=changes["due_date"], via=via, actor=actor)
        item.due_date = changes["due_date"]
        if oversized != item.oversized:
            record_change(session, item=item, field="oversized", old=item.oversized, new=oversized, via="system")
            item.oversized = oversized
        changed.append("due_date")
    if "service" in changes:
        service = _service(session, changes["service"])
        if service is not item.service:
            record_change(session, item=item, field="service", old=item.service_name,
                          new=service.name if service else None, via=via, actor=actor)
            item.service = service
    if any(name in SYNCED_FIELDS for name in changed):
        item.updated_at = utcnow()
        enqueue_push(session, item=item, settings=settings)
    session.flush()
    return warnings


def split_item(
    session: Session, *, item: ActionItem, data: ActionItemSplit, actor: User | None, via: str, settings: Settings,
) -> tuple[list[ActionItem], list[list[str]]]:
    """Turn one item into several smaller ones linked to it; optionally close the original as wont_do."""
    retro = item.retrospective
    created: list[ActionItem] = []
    warnings: list[list[str]] = []
    for index, part in enumerate(data.items):
        try:
            child, child_warnings = create_item(
                session, retro=retro, data=part, actor=actor, via=via, settings=settings, parent=item
            )
        except (ValidationFailed, RuleViolation) as exc:
            exc.fields = {f"items.{index}.{name}": message for name, message in exc.fields.items()}
            raise
        created.append(child)
        warnings.append(child_warnings)
    record_change(
        session, item=item, field="split", old=None, new=", ".join(f"#{c.id}" for c in created), via=via, actor=actor,
    )
    if data.close_original and item.status != ActionStatus.WONT_DO:
        update_item(session, item=item, data=ActionItemUpdate(status=ActionStatus.WONT_DO), actor=actor, via=via, settings=settings)
    return created, warnings
