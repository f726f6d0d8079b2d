"""People: found and referred to by email."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.people.models import Person


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_person(session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == normalise_email(email)))


def require_person(session: Session, email: str, *, field: str) -> Person:
    """The person with `email`; ValidationFailed naming `field` if nobody has it."""
    person = find_person(session, email)
    if person is None:
        raise ValidationFailed(
            f"No person has the email {email}; add them with POST /api/v1/people first.",
            code="unknown_person",
            fields={field: f"no person has the email {email}"},
        )
    return person


def require_people(session: Session, emails: Iterable[str], *, field: str) -> list[Person]:
    """The people with these emails, in order; names every unknown one."""
    wanted = [normalise_email(email) for email in emails]
    found = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(wanted)))}
    missing = {f"{field}.{i}": f"no person has the email {email}" for i, email in enumerate(wanted) if email not in found}
    if missing:
        raise ValidationFailed("Some people are unknown.", code="unknown_person", fields=missing)
    unique: dict[str, Person] = {}
    for email in wanted:
        unique.setdefault(email, found[email])
    return list(unique.values())


def create_person(
    session: Session, *, name: str, email: str, timezone: str | None = None,
    jira_account_id: str | None = None,
) -> Person:
    """Create a person. Raises Conflict if the email is taken."""
    if find_person(session, email) is not None:
        raise Conflict(
            f"A person with email {normalise_email(email)} already exists.",
            code="person_exists", fields={"email": "is already taken"},
        )
    person = Person(name=name, email=normalise_email(email), timezone=timezone, jira_account_id=jira_account_id)
    session.add(person)
    session.flush()
    return person


def get_or_create_person(session: Session, *, email: str, name: str | None = None) -> Person:
    person = find_person(session, email)
    if person is None:
        person = Person(email=normalise_email(email), name=name or email.split("@")[0])
        session.add(person)
        session.flush()
    elif name:
        person.name = name
    return person


def list_people(session: Session, *, active_only: bool = False) -> list[Person]:
    """Everyone by name; `active_only` leaves out the people marked as gone (for pickers)."""
    query = select(Person).order_by(Person.name, Person.id)
    if active_only:
        query = query.where(Person.active.is_(True))
    return list(session.scalars(query))


def get_person(session: Session, person_id: int) -> Person:
    """The person with this id; NotFound otherwise."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person has the id {person_id}.")
    return person


# The fields `update_person` sets, in the order the audit log names them.
PERSON_FIELDS = ("name", "email", "timezone", "jira_account_id", "active")


def update_person(
    session: Session, *, person: Person, name: str, email: str, timezone: str | None,
    jira_account_id: str | None, active: bool,
) -> list[str]:
    """Set a person's details; returns the names of the fields that changed.

    Raises Conflict `person_exists` naming `email` when another person has that email."""
    email = normalise_email(email)
    holder = find_person(session, email)
    if holder is not None and holder.id != person.id:
        raise Conflict(f"{holder.name} already has the email {email}.", code="person_exists",
                       fields={"email": f"{holder.name} already has this email"})
    values = {"name": name, "email": email, "timezone": timezone or None,
              "jira_account_id": jira_account_id or None, "active": active}
    changed = [field for field in PERSON_FIELDS if getattr(person, field) != values[field]]
    for field in changed:
        setattr(person, field, values[field])
    session.flush()
    return changed
