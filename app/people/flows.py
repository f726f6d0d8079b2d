"""People's workflows across domains: a person's details and the PagerDuty user matched to them (intake)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.errors import Conflict
from app.intake import service as intake
from app.people import service
from app.people.models import Person
from app.people.schemas import PersonUpdate


def pagerduty_ids(session: Session, people: list[Person]) -> dict[int, str]:
    """Each person's PagerDuty user id, by person id, for those who have one."""
    by_email = intake.pagerduty_ids(session, emails=[person.email for person in people])
    return {person.id: by_email[person.email] for person in people if person.email in by_email}


def edit_person(session: Session, *, person: Person, data: PersonUpdate) -> list[str]:
    """Apply an admin's edit of a person; returns the names of the fields that changed.

    The PagerDuty user id is the intake's match of that user to the person's email, so it follows an
    email change. Raises Conflict naming `email`, or `pagerduty_user_id` when the id is someone else's.
    """
    old_email = person.email
    old_pagerduty = pagerduty_ids(session, [person]).get(person.id)
    wanted = data.pagerduty_user_id or None
    if wanted and wanted != old_pagerduty:
        holder_email = intake.pagerduty_holder(session, user_id=wanted)
        holder = service.find_person(session, holder_email) if holder_email else None
        if holder is not None and holder.id != person.id:
            raise Conflict(
                f"The PagerDuty user {wanted} is already {holder.name}'s.", code="pagerduty_user_taken",
                fields={"pagerduty_user_id": f"already {holder.name}'s PagerDuty user id"},
            )
    changed = service.update_person(
        session, person=person, name=data.name, email=data.email, timezone=data.timezone,
        jira_account_id=data.jira_account_id, active=data.active,
    )
    if wanted != old_pagerduty or person.email != old_email:
        intake.match_pagerduty_user(session, email=person.email, user_id=wanted, old_email=old_email)
    if wanted != old_pagerduty:
        changed.append("pagerduty_user_id")
    return changed
