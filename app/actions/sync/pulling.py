"""Pulling Jira's changes (webhooks and the reconcile search) into action items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, JiraSyncState, JiraWebhookDelivery
from app.actions.service import (
    due_date_warnings, enqueue_push, last_local_change_at, record_change,
)
from app.actions.sync.mapping import (
    CATEGORY_STATUS, CURSOR, STATUS_CATEGORY, SessionFactory, in_project, item_id_from_labels, set_state,
)
from app.db import utcnow
from app.incidents.access import person_may_see
from app.people.models import Person
from app.people.service import find_person
from config import Settings
from integrations.jira import JiraClient, JiraFailure, JiraIssue, JiraUser, issue_from_raw


def jira_ident(user: JiraUser | None) -> str | None:
    if user is None:
        return None
    return user.account_id or user.name


def person_for_jira_user(session: Session, user: JiraUser | None) -> Person | None:
    """The person a Jira user is: by stored accountId, else by email (remembering the accountId)."""
    if user is None:
        return None
    if user.account_id:
        person = session.scalar(select(Person).where(Person.jira_account_id == user.account_id))
        if person is not None:
            return person
    if user.email:
        person = find_person(session, user.email)
        if person is not None and user.account_id and person.jira_account_id is None:
            person.jira_account_id = user.account_id
        return person
    return None


@dataclass
class _Pull:
    """One Jira issue's values being applied to its item (see `apply_issue`)."""

    session: Session
    item: ActionItem
    issue: JiraIssue
    settings: Settings
    actor: str
    jira_at: datetime
    state: dict[str, Any]
    changed: bool = False
    restore: bool = False

    def take(self, field_name: str, old: Any, new: Any, locally_changed: bool) -> bool:
        """Whether Jira's value wins (unless Hindsight changed it later); either way it goes into the history."""
        jira_wins = True
        if locally_changed:
            local_at = last_local_change_at(self.session, item=self.item, field=field_name) or self.item.created_at
            jira_wins = local_at <= self.jira_at
        note = None
        if locally_changed:
            note = ("conflict: changed in Hindsight too; the later change, in Jira, wins" if jira_wins
                    else "conflict: changed in Hindsight later; the Hindsight value is kept and pushed back")
        record_change(self.session, item=self.item, field=field_name, old=old, new=new, via="jira", actor=self.actor,
                      at=self.jira_at, applied=jira_wins, note=note)
        if jira_wins:
            self.changed = True
        else:
            self.restore = True
        return jira_wins

    def refuse(self, field_name: str, old: Any, new: Any, note: str) -> None:
        """Keep a value Hindsight cannot take in the history, and put ours back in Jira."""
        record_change(self.session, item=self.item, field=field_name, old=old, new=new, via="jira", actor=self.actor,
                      at=self.jira_at, applied=False, note=note)
        self.restore = True


def apply_issue(
    session: Session, *, item: ActionItem, issue: JiraIssue, settings: Settings, actor: str = "Jira",
    push_back: bool = True,
) -> bool:
    """Apply Jira's owner, due date and status to the item where Jira changed them.

    Returns whether the item changed. A value Jira had at our last push or pull is no change
    (that is how our own pushes don't echo back). A field also changed here since then goes to
    the later change. Values Hindsight cannot take (unknown or outside assignee, no due date)
    are kept in the history as refused, and the item is queued to put its value back in Jira.
    """
    if item.jira_updated_at is not None and issue.updated is not None and issue.updated <= item.jira_updated_at:
        return False
    if not item.jira_state:
        # First sight of an issue we created (its answer lost): what it holds came from us.
        remember_jira(item, issue)
        return False
    pull = _Pull(session, item, issue, settings, actor, jira_at=issue.updated or utcnow(), state=dict(item.jira_state))
    owner_email = _pull_owner(pull)
    _pull_due_date(pull)
    _pull_status(pull)
    category = issue.status_category
    pull.state.update(assignee=jira_ident(issue.assignee), owner=owner_email,
                      due_date=issue.duedate.isoformat() if issue.duedate else None,
                      status=category if category in CATEGORY_STATUS else pull.state.get("status"))
    item.jira_state = pull.state
    if issue.updated is not None and (item.jira_updated_at is None or issue.updated > item.jira_updated_at):
        item.jira_updated_at = issue.updated
    if pull.changed:
        item.updated_at = utcnow()
    if pull.restore and push_back:
        enqueue_push(session, item=item, settings=settings)
    session.flush()
    return pull.changed


def _pull_owner(pull: _Pull) -> str | None:
    """Owner <- assignee; returns the owner's email Jira's assignee stands for now."""
    item, assignee = pull.item, pull.issue.assignee
    owner_email = pull.state.get("owner")
    if jira_ident(assignee) == pull.state.get("assignee"):
        return owner_email
    who = (assignee.email or assignee.display_name or jira_ident(assignee)) if assignee else None
    person = person_for_jira_user(pull.session, assignee)
    if person is None or not person_may_see(pull.session, person_id=person.id, incident_id=item.retrospective.incident_id):
        reason = ("an action item needs an owner" if assignee is None else
                  f"{who} is not a person Hindsight knows" if person is None else
                  f"{person.email} cannot see this private incident")
        pull.refuse("owner", item.owner, who, f"refused: {reason}; the owner is pushed back to Jira")
        return owner_email
    locally_changed = item.owner.email != pull.state.get("owner")
    if person.id != item.owner_id and pull.take("owner", item.owner, person, locally_changed):
        item.owner = person
    return person.email


def _pull_due_date(pull: _Pull) -> None:
    """Due date <- duedate; an issue without one is refused (an action item needs a due date)."""
    item, due = pull.item, pull.issue.duedate
    if (due.isoformat() if due else None) == pull.state.get("due_date"):
        return
    if due is None:
        pull.refuse("due_date", item.due_date, None, "refused: an action item needs a due date; pushed back to Jira")
        return
    locally_changed = item.due_date.isoformat() != pull.state.get("due_date")
    if due != item.due_date and pull.take("due_date", item.due_date, due, locally_changed):
        item.due_date = due
        _, oversized = due_date_warnings(due, settings=pull.settings, on_create=False)
        if oversized != item.oversized:
            record_change(pull.session, item=item, field="oversized", old=item.oversized, new=oversized, via="system")
            item.oversized = oversized


def _pull_status(pull: _Pull) -> None:
    """Status <- status category (Jira's workflow statuses map to its three categories)."""
    item, category = pull.item, pull.issue.status_category
    if category not in CATEGORY_STATUS or category in (pull.state.get("status"), STATUS_CATEGORY[item.status]):
        return
    new_status = CATEGORY_STATUS[category]
    if pull.take("status", item.status, new_status, STATUS_CATEGORY[item.status] != pull.state.get("status")):
        item.status = new_status


def remember_jira(item: ActionItem, issue: JiraIssue, *, owner_email: str | None = None) -> None:
    """Take Jira's values as the baseline later pulls compare with."""
    state = dict(item.jira_state or {})
    state.update(
        assignee=jira_ident(issue.assignee), due_date=issue.duedate.isoformat() if issue.duedate else None,
        status=issue.status_category,
        owner=owner_email if owner_email is not None else (
            item.owner.email if issue.assignee is not None else state.get("owner")),
    )
    item.jira_state = state
    if issue.updated is not None and (item.jira_updated_at is None or issue.updated > item.jira_updated_at):
        item.jira_updated_at = issue.updated


def handle_webhook(session: Session, *, payload: Any, identifier: str | None, settings: Settings) -> str:
    """Apply a verified Jira webhook delivery: "applied", "unchanged", "duplicate", "ignored" or "unknown_issue"."""
    if identifier:
        try:
            with session.begin_nested():
                session.add(JiraWebhookDelivery(identifier=identifier[:200], received_at=utcnow()))
        except IntegrityError:
            return "duplicate"
    if not isinstance(payload, dict) or payload.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return "ignored"
    raw = payload.get("issue")
    if not isinstance(raw, dict):
        return "ignored"
    try:
        issue = issue_from_raw(raw)
    except JiraFailure:
        return "ignored"
    if identifier:
        delivery = session.scalar(select(JiraWebhookDelivery).where(JiraWebhookDelivery.identifier == identifier[:200]))
        if delivery is not None:
            delivery.issue_key = issue.key
    item_id = item_id_from_labels(settings, issue.labels)
    query = select(ActionItem).where(ActionItem.id == item_id) if item_id is not None else (
        select(ActionItem).where(ActionItem.jira_key == issue.key)
    )
    item = session.scalar(query.with_for_update(of=ActionItem))
    if item is None:
        return "unknown_issue"
    # Anyone in Jira can put our label on an issue: only the item's own issue (or, before the
    # item knows its key, an issue of our project) may change it.
    if item.jira_key is not None and item.jira_key != issue.key:
        return "ignored"
    if item.jira_key is None:
        if not in_project(settings, issue.key):
            return "ignored"
        item.jira_key, item.jira_issue_id = issue.key, issue.id
        record_change(session, item=item, field="jira_key", old=None, new=issue.key, via="system",
                      note="learned from a Jira webhook")
    user = payload.get("user")
    user = user if isinstance(user, dict) else {}
    actor = user.get("displayName") or user.get("name")
    actor = actor[:200] if isinstance(actor, str) and actor else "Jira"
    return "applied" if apply_issue(session, item=item, issue=issue, settings=settings, actor=actor) else "unchanged"


def reconcile(factory: SessionFactory, *, client: JiraClient, settings: Settings) -> int:
    """Read every labelled issue updated since the cursor (paged) and apply Jira's changes; returns items changed."""
    with factory() as session:
        stored = session.get(JiraSyncState, CURSOR)
        cursor = datetime.fromisoformat(stored.value) if stored is not None and stored.value else None
    overlap = timedelta(minutes=settings.jira.reconcile_overlap_minutes)
    since = cursor - overlap if cursor else None
    # Jira's time before the search: everything updated before it (less the overlap) has been read.
    started = client.server_time()
    pulled = 0
    for page in client.changed_since(settings.jira.label, since):
        with factory() as session, session.begin():
            by_item: dict[int, JiraIssue] = {}
            for issue in page:
                item_id = item_id_from_labels(settings, issue.labels)
                if item_id is not None:
                    by_item[item_id] = issue
            items = session.scalars(
                select(ActionItem).where(ActionItem.id.in_(list(by_item))).order_by(ActionItem.id).with_for_update(of=ActionItem)
            ).all()
            for item in items:
                issue = by_item[item.id]
                if item.jira_key is None:
                    if not in_project(settings, issue.key):
                        continue
                    item.jira_key, item.jira_issue_id = issue.key, issue.id
                    record_change(session, item=item, field="jira_key", old=None, new=issue.key, via="system",
                                  note="found by the reconcile")
                elif item.jira_key != issue.key:
                    continue
                pulled += apply_issue(session, item=item, issue=issue, settings=settings, actor="Jira")
            newest = max((i.updated for i in page if i.updated is not None), default=None)
            if newest is not None and (cursor is None or newest > cursor):
                cursor = newest
                set_state(session, CURSOR, cursor.isoformat())
    if started is not None and (cursor is None or started - overlap > cursor):
        # A quiet stretch moves the cursor on too, so the next search doesn't re-read the last busy minute.
        with factory() as session, session.begin():
            set_state(session, CURSOR, (started - overlap).isoformat())
    return pulled
