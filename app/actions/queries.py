"""Reads the action-item pages need besides the item itself: who may own it, what it was split into."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem
from app.incidents.access import incident_visible_to
from app.incidents.models import Incident
from app.people.models import Person


def possible_owners(session: Session, *, item: ActionItem) -> list[Person]:
    """The people who may own the item, by name: those who may see its incident (as `_require_owner` checks)."""
    incident_id = item.retrospective.incident_id
    visible = select(Incident.id).where(Incident.id == incident_id, incident_visible_to(Person.id)).exists()
    return list(session.scalars(select(Person).where(visible).order_by(Person.name, Person.id)))


def parts_of(session: Session, *, item: ActionItem) -> list[ActionItem]:
    """The items this one was split into, oldest first (of the same retro: whoever sees the item sees them)."""
    return list(session.scalars(select(ActionItem).where(ActionItem.parent_id == item.id).order_by(ActionItem.id)))
