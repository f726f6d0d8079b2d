"""Action items <-> Jira: push through the outbox, pull from webhooks and a JQL reconcile.

Push: a change writes an outbox row in its own transaction (service.enqueue_push). A worker
claims due rows (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, plus a compare-and-set lease
that also holds on SQLite), sends each item's current state, and deletes the row only if no
newer change arrived meanwhile. Failures back off exponentially with jitter (a 429 waits its
Retry-After) and show on the item as sync_status "failed" with the error. A create whose answer
was lost marks the row `uncertain`: the next attempt looks the issue up by its label first.

Pull: Jira's values are compared with `jira_state`, what Jira had at the last push or pull, so
our own pushes never come back as changes. A field changed on both sides goes to the later
change, by timestamp; both changes stay in the history.

The HTTP calls happen outside database transactions; each step opens its own short session.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.actions.models import ActionItem, JiraOutbox, JiraSyncState, JiraWebhookDelivery
from app.actions.service import (
    can_view_retro, due_date_warnings, enqueue_push, last_local_change_at, record_change,
)
from app.db import database, utcnow
from app.extensions import settings as app_settings
from app.people.models import Person
from app.people.service import find_person
from config import Settings
from integrations.jira import (
    IssueFields, JiraClient, JiraConfig, JiraFailure, JiraIssue, JiraUser, backoff_seconds, issue_from_raw,
)

log = logging.getLogger(__name__)

STATUS_CATEGORY = {"open": "new", "in_progress": "indeterminate", "done": "done", "wont_do": "done"}
CATEGORY_STATUS = {"new": "open", "indeterminate": "in_progress", "done": "done"}
CURSOR = "reconcile_cursor"
LAST_PULL_ERROR = "last_pull_error"
_off_logged: set[int] = set()

SessionFactory = Callable[[], Session]


@dataclass
class SyncCounts:
    """What one run did."""

    created: int = 0
    updated: int = 0
    pulled: int = 0
    failed: int = 0
    adopted: int = 0
    stopped: str | None = None
    # The kind of the last failure (JiraFailure.kind), if any.
    last_failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("stopped", "last_failure")}


def jira_config(settings: Settings) -> JiraConfig:
    jira = settings.jira
    return JiraConfig(
        url=jira.url, project=jira.project, user=jira.user, token=jira.token, issue_type=jira.issue_type,
        deployment=jira.deployment, timeout=jira.timeout_seconds, max_retries=jira.max_retries,
        page_size=jira.page_size,
    )


def log_off_once(settings: Settings) -> None:
    """'Jira not configured' means off: said once per process, not an error on every run."""
    if id(settings) not in _off_logged:
        _off_logged.add(id(settings))
        log.info("Jira sync is off: set HINDSIGHT_JIRA_URL and HINDSIGHT_JIRA_PROJECT to turn it on.")


MAX_ID = 2**31 - 1


def item_label(settings: Settings, item_id: int) -> str:
    return f"{settings.jira.label}-{item_id}"


def item_id_from_labels(settings: Settings, labels: Iterable[str]) -> int | None:
    prefix = settings.jira.label + "-"
    for label in labels:
        if isinstance(label, str) and label.startswith(prefix) and label[len(prefix):].isdigit():
            item_id = int(label[len(prefix):])
            if item_id <= MAX_ID:
                return item_id
    return None


def in_project(settings: Settings, key: str) -> bool:
    """Whether an issue key belongs to the configured project (labels alone prove nothing)."""
    return key.startswith(f"{settings.jira.project}-")


# -- what an item looks like in Jira -----------------------------------------------------

@dataclass
class Desired:
    """The item's state as Jira should have it."""

    item_id: int
    jira_key: str | None
    summary: str
    description: str
    duedate: date
    owner_email: str
    owner_account_id: str | None
    category: str
    priority: str | None
    labels: list[str]


def desired_state(item: ActionItem, settings: Settings) -> Desired:
    """Map an item to Jira's fields; a private incident's issue holds only a link unless configured."""
    retro = item.retrospective
    incident = retro.incident
    link = f"{settings.base_url}/incidents/{incident.id}#retrospective"
    if incident.is_private and not settings.jira.private_details:
        summary = f"Hindsight action item #{item.id}"
        description = f"An action item of a private incident's retrospective. Details in Hindsight: {link}"
    else:
        summary = " ".join(item.title.split())
        description = (
            (item.description.strip() + "\n\n" if item.description.strip() else "")
            + f"Action item from the retrospective of incident #{incident.id} ({incident.title}): {link}"
        )
    return Desired(
        item_id=item.id, jira_key=item.jira_key, summary=summary[:255], description=description,
        duedate=item.due_date, owner_email=item.owner.email, owner_account_id=item.owner.jira_account_id,
        category=STATUS_CATEGORY[item.status], priority=settings.jira.priority_map.get(item.priority),
        labels=[settings.jira.label, item_label(settings, item.id)],
    )


def _lock_item(session: Session, item_id: int) -> ActionItem | None:
    """The item, row-locked on PostgreSQL so a push and a pull of it apply one after the other."""
    return session.scalar(select(ActionItem).where(ActionItem.id == item_id).with_for_update(of=ActionItem))


# -- claiming the outbox -----------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    outbox_id: int
    item_id: int
    version: int
    attempts: int
    uncertain: bool
    token: str


def claim(
    factory: SessionFactory, *, settings: Settings, force: bool, limit: int,
    item_ids: Iterable[int] | None = None, exclude: Iterable[int] = (),
) -> list[Claim]:
    """Lease up to `limit` due outbox rows to this worker; safe with several workers at once."""
    now = utcnow()
    token = str(uuid.uuid4())
    with factory() as session, session.begin():
        query = select(JiraOutbox).where(or_(JiraOutbox.claimed_until.is_(None), JiraOutbox.claimed_until < now))
        if not force:
            query = query.where(JiraOutbox.next_attempt_at <= now)
        if item_ids is not None:
            query = query.where(JiraOutbox.action_item_id.in_(list(item_ids)))
        excluded = list(exclude)
        if excluded:
            query = query.where(JiraOutbox.id.not_in(excluded))
        query = query.order_by(JiraOutbox.next_attempt_at, JiraOutbox.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claims = []
        for row in session.scalars(query).all():
            # Compare-and-set: on SQLite two workers may read the same row; only one update wins.
            taken = session.execute(
                update(JiraOutbox)
                .where(JiraOutbox.id == row.id, or_(JiraOutbox.claimed_until.is_(None), JiraOutbox.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=settings.jira.claim_seconds), claim_token=token)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                continue
            # A lease that ran out means a worker died mid-push: its create may have gone through.
            uncertain = row.uncertain or row.claimed_until is not None
            claims.append(Claim(row.id, row.action_item_id, row.version, row.attempts, uncertain, token))
    return claims


# -- pushing -----------------------------------------------------------------------------

@dataclass
class PushResult:
    key: str | None = None
    issue_id: str | None = None
    issue: JiraIssue | None = None
    created: bool = False
    adopted: bool = False
    changed: bool = False
    assignee: str | None = None
    cloud: bool = False
    warnings: list[str] = field(default_factory=list)


def push_due(
    factory: SessionFactory, *, settings: Settings, client: JiraClient, force: bool = False,
    item_ids: Iterable[int] | None = None,
) -> SyncCounts:
    """Push every due outbox row (all pending ones if `force`); stops early if Jira is down or throttling."""
    counts = SyncCounts()
    seen: set[int] = set()
    ids = list(item_ids) if item_ids is not None else None
    batch = settings.jira.push_batch
    while True:
        claims = claim(factory, settings=settings, force=force, limit=batch, item_ids=ids, exclude=seen)
        if not claims:
            return counts
        seen.update(c.outbox_id for c in claims)
        for index, taken in enumerate(claims):
            try:
                result = push_one(factory, client, taken, settings=settings)
            except JiraFailure as failure:
                counts.failed += 1
                counts.last_failure = failure.kind
                if failure.service_wide:
                    # The rest would fail the same way: record it on them without asking Jira again.
                    for rest in claims[index + 1:]:
                        record_failure(factory, rest, failure, settings=settings, attempted=False)
                        counts.failed += 1
                    counts.stopped = failure.kind
                    return counts
                continue
            if result is None:
                continue
            counts.created += result.created
            counts.adopted += result.adopted
            counts.updated += (not result.created) and result.changed
        if len(claims) < batch:
            return counts


def push_one(factory: SessionFactory, client: JiraClient, taken: Claim, *, settings: Settings) -> PushResult | None:
    """Send one item's state to Jira; records success or failure on the item and its outbox row."""
    with factory() as session:
        item = session.get(ActionItem, taken.item_id)
        if item is None:
            return None
        desired = desired_state(item, settings)
    result = PushResult(key=desired.jira_key)
    try:
        current: JiraIssue | None = None
        if desired.jira_key:
            current = client.get_issue(desired.jira_key)
        elif taken.uncertain:
            # An earlier create may have reached Jira without its answer reaching us.
            current = client.find_by_label(item_label(settings, desired.item_id))
            result.adopted = current is not None
        if current is not None:
            result.key, result.issue_id = current.key, current.id
            # Jira's own changes since our last look come in first, so this push can't undo them.
            desired = _pull_before_push(factory, taken.item_id, current, settings=settings, adopted=result.adopted) or desired
        result.assignee = _assignee_for(client, desired, result)
        result.cloud = client.cloud
        if current is None:
            fields = IssueFields(
                summary=desired.summary, description=desired.description, duedate=desired.duedate,
                assignee=result.assignee, priority=desired.priority, labels=desired.labels,
                extra=dict(settings.jira.extra_fields),
            )
            issue = client.create_issue(fields)
            result.key, result.issue_id, result.created, result.changed = issue.key, issue.id, True, True
        else:
            changes = _differences(desired, current, result.assignee, client.cloud)
            issue = client.update_issue(current.key, changes) if changes is not None else current
            result.changed = changes is not None
        result.issue = issue
        if issue.status_category != desired.category:
            client.move_to_category(issue.key, desired.category)
            result.changed = True
    except JiraFailure as failure:
        if failure.created_key and not result.key:
            result.key, result.issue_id, result.created = failure.created_key, failure.created_id, True
        record_failure(factory, taken, failure, settings=settings, result=result)
        raise
    record_success(factory, taken, result, desired, settings=settings)
    return result


def _assignee_for(client: JiraClient, desired: Desired, result: PushResult) -> str | None:
    """The owner's Jira identifier: stored accountId on Cloud, else found by email; None if no account."""
    if client.cloud and desired.owner_account_id:
        return desired.owner_account_id
    user = client.find_user(desired.owner_email)
    if user is None:
        result.warnings.append(f"{desired.owner_email} has no Jira account that Hindsight can find: the issue is unassigned.")
        return None
    return user.identifier(client.cloud)


def _differences(desired: Desired, current: JiraIssue, assignee: str | None, cloud: bool) -> IssueFields | None:
    """Only the fields Jira has differently; None when it already agrees."""
    changes = IssueFields()
    differs = False
    if current.summary != desired.summary:
        changes.summary, differs = desired.summary, True
    if current.description != desired.description:
        changes.description, differs = desired.description, True
    if current.duedate != desired.duedate:
        changes.duedate, differs = desired.duedate, True
    if assignee is not None and (current.assignee is None or current.assignee.identifier(cloud) != assignee):
        changes.assignee, differs = assignee, True
    if desired.priority is not None and current.priority != desired.priority:
        changes.priority, differs = desired.priority, True
    missing = [label for label in desired.labels if label not in current.labels]
    if missing:
        changes.labels, differs = list(current.labels) + missing, True
    return changes if differs else None


def _pull_before_push(
    factory: SessionFactory, item_id: int, current: JiraIssue, *, settings: Settings, adopted: bool,
) -> Desired | None:
    with factory() as session, session.begin():
        item = _lock_item(session, item_id)
        if item is None:
            return None
        if adopted and item.jira_key is None:
            item.jira_key, item.jira_issue_id = current.key, current.id
            record_change(session, item=item, field="jira_key", old=None, new=current.key, via="system",
                          note="found by its label after an answer from Jira was lost")
        apply_issue(session, item=item, issue=current, settings=settings, actor="Jira", push_back=False)
        return desired_state(item, settings)


def record_success(factory: SessionFactory, taken: Claim, result: PushResult, desired: Desired, *, settings: Settings) -> None:
    issue = result.issue
    assert issue is not None
    with factory() as session, session.begin():
        item = _lock_item(session, taken.item_id)
        if item is None:
            return
        row = session.get(JiraOutbox, taken.outbox_id, with_for_update=True)
        if item.jira_key is None:
            item.jira_key, item.jira_issue_id = result.key, result.issue_id
            if result.created:
                record_change(session, item=item, field="jira_key", old=None, new=result.key, via="system")
        elif item.jira_key != result.key:
            log.warning("Action item %s is linked to %s but was pushed to %s", item.id, item.jira_key, result.key)
        if result.cloud and result.assignee and desired.owner_account_id is None:
            # Remember the accountId found by email: the next push and the pull need no search.
            owner = session.get(Person, item.owner_id)
            if owner is not None and owner.email == desired.owner_email and owner.jira_account_id is None:
                owner.jira_account_id = result.assignee
        state = dict(item.jira_state or {})
        state.update(
            assignee=result.assignee if result.assignee is not None else _ident(issue.assignee),
            owner=desired.owner_email, due_date=desired.duedate.isoformat(), status=desired.category,
        )
        item.jira_state = state
        if issue.updated is not None and (item.jira_updated_at is None or issue.updated > item.jira_updated_at):
            item.jira_updated_at = issue.updated
        item.synced_at = utcnow()
        item.last_sync_error = " ".join(result.warnings) or None
        if row is None or row.claim_token != taken.token:
            item.sync_status = "synced" if row is None else "pending"
        elif row.version == taken.version:
            session.delete(row)
            item.sync_status = "synced"
        else:
            # Changed while we pushed: leave the row for the next push, due now.
            row.claimed_until, row.claim_token = None, None
            row.attempts, row.uncertain, row.last_error = 0, False, None
            row.next_attempt_at = utcnow()
            item.sync_status = "pending"


def record_failure(
    factory: SessionFactory, taken: Claim, failure: JiraFailure, *, settings: Settings,
    result: PushResult | None = None, attempted: bool = True,
) -> None:
    """Back the row off and show the error on the item; keep any issue key already learned."""
    now = utcnow()
    with factory() as session, session.begin():
        item = _lock_item(session, taken.item_id)
        row = session.get(JiraOutbox, taken.outbox_id, with_for_update=True)
        if item is not None and result is not None and result.key and item.jira_key is None:
            item.jira_key, item.jira_issue_id = result.key, result.issue_id
            record_change(session, item=item, field="jira_key", old=None, new=result.key, via="system")
        if item is not None and result is not None and result.issue is not None:
            # Part of the push went through (e.g. the create, not the transition): Jira holds our values.
            _remember_jira(item, result.issue)
        if row is None or row.claim_token != taken.token:
            return
        row.attempts += 1
        delay = backoff_seconds(
            row.attempts, base=settings.jira.retry_base_seconds, cap=settings.jira.retry_max_seconds,
            rand=random.uniform(0.5, 1.0),
        )
        if failure.retry_after is not None:
            # Jira said when: honour it exactly for a 429, at least for a 503.
            delay = failure.retry_after if failure.kind == "rate_limited" else max(delay, failure.retry_after)
        row.next_attempt_at = now + timedelta(seconds=delay)
        creating = item is not None and item.jira_key is None
        row.uncertain = creating and (row.uncertain or taken.uncertain or (attempted and failure.uncertain))
        message = failure.message if attempted else f"Not attempted: {failure.message}"
        row.last_error = message
        row.claimed_until, row.claim_token = None, None
        if item is not None:
            item.sync_status = "failed"
            item.last_sync_error = (
                f"{message} (attempt {row.attempts}; next after {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC)"
            )


# -- pulling -----------------------------------------------------------------------------

def _ident(user: JiraUser | None) -> str | None:
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
        _remember_jira(item, issue)
        return False
    state = dict(item.jira_state)
    jira_at = issue.updated or utcnow()
    changed = False
    restore = False

    def local_wins(field_name: str, locally_changed: bool) -> bool:
        if not locally_changed:
            return False
        local_at = last_local_change_at(session, item=item, field=field_name) or item.created_at
        return local_at > jira_at

    def conflict_note(locally_changed: bool, won: bool) -> str | None:
        if not locally_changed:
            return None
        return ("conflict: changed in Hindsight too; the later change, in Jira, wins" if won
                else "conflict: changed in Hindsight later; the Hindsight value is kept and pushed back")

    def take(field_name: str, old: Any, new: Any, locally_changed: bool) -> bool:
        """Whether Jira's value wins; either way the change is kept in the history."""
        jira_wins = not local_wins(field_name, locally_changed)
        record_change(session, item=item, field=field_name, old=old, new=new, via="jira", actor=actor, at=jira_at,
                      applied=jira_wins, note=conflict_note(locally_changed, jira_wins))
        return jira_wins

    # Owner <- assignee
    jira_assignee = _ident(issue.assignee)
    new_owner_email = state.get("owner")
    if jira_assignee != state.get("assignee"):
        who = (issue.assignee.email or issue.assignee.display_name or jira_assignee) if issue.assignee else None
        person = person_for_jira_user(session, issue.assignee)
        if person is None or not can_view_retro(session, person=person, retro=item.retrospective):
            reason = ("an action item needs an owner" if issue.assignee is None else
                      f"{who} is not a person Hindsight knows" if person is None else
                      f"{person.email} cannot see this private incident")
            record_change(session, item=item, field="owner", old=item.owner, new=who, via="jira", actor=actor,
                          at=jira_at, applied=False, note=f"refused: {reason}; the owner is pushed back to Jira")
            restore = True
        else:
            new_owner_email = person.email
            if person.id != item.owner_id:
                if take("owner", item.owner, person, item.owner.email != state.get("owner")):
                    item.owner = person
                    changed = True
                else:
                    restore = True

    # Due date <- duedate
    jira_due = issue.duedate.isoformat() if issue.duedate else None
    if jira_due != state.get("due_date"):
        if issue.duedate is None:
            record_change(session, item=item, field="due_date", old=item.due_date, new=None, via="jira", actor=actor,
                          at=jira_at, applied=False, note="refused: an action item needs a due date; pushed back to Jira")
            restore = True
        elif issue.duedate != item.due_date:
            if take("due_date", item.due_date, issue.duedate, item.due_date.isoformat() != state.get("due_date")):
                item.due_date = issue.duedate
                _, oversized = due_date_warnings(issue.duedate, settings=settings, on_create=False)
                if oversized != item.oversized:
                    record_change(session, item=item, field="oversized", old=item.oversized, new=oversized, via="system")
                    item.oversized = oversized
                changed = True
            else:
                restore = True

    # Status <- status category
    category = issue.status_category
    if category in CATEGORY_STATUS and category != state.get("status") and STATUS_CATEGORY[item.status] != category:
        new_status = CATEGORY_STATUS[category]
        if take("status", item.status, new_status, STATUS_CATEGORY[item.status] != state.get("status")):
            item.status = new_status
            changed = True
        else:
            restore = True

    state.update(assignee=jira_assignee, owner=new_owner_email, due_date=jira_due,
                 status=category if category in CATEGORY_STATUS else state.get("status"))
    item.jira_state = state
    if issue.updated is not None and (item.jira_updated_at is None or issue.updated > item.jira_updated_at):
        item.jira_updated_at = issue.updated
    if changed:
        item.updated_at = utcnow()
    if restore and push_back:
        enqueue_push(session, item=item, settings=settings)
    session.flush()
    return changed


def _remember_jira(item: ActionItem, issue: JiraIssue, *, owner_email: str | None = None) -> None:
    """Take Jira's values as the baseline later pulls compare with."""
    state = dict(item.jira_state or {})
    state.update(
        assignee=_ident(issue.assignee), due_date=issue.duedate.isoformat() if issue.duedate else None,
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
                _set_state(session, CURSOR, cursor.isoformat())
    if started is not None and (cursor is None or started - overlap > cursor):
        # A quiet stretch moves the cursor on too, so the next search doesn't re-read the last busy minute.
        with factory() as session, session.begin():
            _set_state(session, CURSOR, (started - overlap).isoformat())
    return pulled


def _set_state(session: Session, name: str, value: str | None) -> None:
    row = session.get(JiraSyncState, name)
    if row is None:
        session.add(JiraSyncState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()


# -- runs --------------------------------------------------------------------------------

def run_sync(factory: SessionFactory, *, settings: Settings, force: bool = False, pull: bool = True) -> SyncCounts:
    """One push of the outbox (every pending row if `force`), then one reconcile pull."""
    if not settings.jira.enabled:
        log_off_once(settings)
        return SyncCounts()
    _housekeeping(factory, settings=settings)
    with JiraClient(jira_config(settings)) as client:
        counts = push_due(factory, settings=settings, client=client, force=force)
        if pull and counts.stopped is None:
            try:
                counts.pulled = reconcile(factory, client=client, settings=settings)
                error = None
            except JiraFailure as failure:
                log.warning("Jira reconcile failed: %s", failure)
                error = failure.message
            with factory() as session, session.begin():
                _set_state(session, LAST_PULL_ERROR, error)
    return counts


WEBHOOK_MEMORY = timedelta(days=2)  # Jira retries a delivery for about 30 minutes


def _housekeeping(factory: SessionFactory, *, settings: Settings) -> None:
    """Queue items made while Jira sync was off; forget webhook deliveries too old to be retried."""
    with factory() as session, session.begin():
        waiting = session.scalars(
            select(ActionItem).where(ActionItem.sync_status == "off", ActionItem.jira_key.is_(None))
            .order_by(ActionItem.id).limit(1000)
        ).all()
        for item in waiting:
            if session.scalar(select(JiraOutbox.id).where(JiraOutbox.action_item_id == item.id)) is None:
                session.add(JiraOutbox(action_item_id=item.id, version=1, attempts=0, next_attempt_at=utcnow(),
                                       uncertain=False))
            item.sync_status = "pending"
        session.execute(
            delete(JiraWebhookDelivery).where(JiraWebhookDelivery.received_at < utcnow() - WEBHOOK_MEMORY)
        )


IMMEDIATE_PUSH_LIMIT = 3
# After Jira failed for every item (down, timing out, throttling), requests stop waiting on it
# for this long; the sync job keeps pushing on its own schedule.
IMMEDIATE_PUSH_PAUSE = timedelta(seconds=60)
PUSH_PAUSED_UNTIL = "immediate_push_paused_until"
JIRA_DOWN = ("unreachable", "timeout", "rate_limited", "server_error")


def _immediate_push_paused(factory: SessionFactory) -> bool:
    with factory() as session:
        row = session.get(JiraSyncState, PUSH_PAUSED_UNTIL)
        if row is None or not row.value:
            return False
        try:
            return datetime.fromisoformat(row.value) > utcnow()
        except ValueError:
            return False


def _pause_immediate_pushes(factory: SessionFactory) -> None:
    with factory() as session, session.begin():
        _set_state(session, PUSH_PAUSED_UNTIL, (utcnow() + IMMEDIATE_PUSH_PAUSE).isoformat())


def push_soon(app: Flask, item_ids: Iterable[int]) -> None:
    """The attempt right after a commit: push these items now, in a fresh session, never raising.

    Skipped for a minute after Jira failed as a whole, so that a Jira that does not answer
    costs one request one timeout, not every request its own.
    """
    ids = set(item_ids)
    if not ids:
        return
    with app.app_context():
        settings = app_settings(app)
        if not settings.jira.enabled:
            return
        factory = database(app).session_factory
        assert factory is not None
        if _immediate_push_paused(factory):
            return
        try:
            with JiraClient(jira_config(settings)) as client:
                # The request waits on this: a few items, one at a time, and none after the first
                # failure (a hung Jira costs one timeout, not one per item). The sync job does the rest.
                for item_id in sorted(ids)[:IMMEDIATE_PUSH_LIMIT]:
                    counts = push_due(factory, settings=settings, client=client, force=False, item_ids=[item_id])
                    if counts.last_failure in JIRA_DOWN:
                        _pause_immediate_pushes(factory)
                    if counts.failed:
                        break
        except Exception:  # noqa: BLE001 - the request already succeeded; the outbox keeps the change
            log.exception("Pushing action items %s to Jira right after the commit failed; the sync job retries", sorted(ids))
            try:
                _pause_immediate_pushes(factory)
            except SQLAlchemyError:
                log.exception("could not record the pause of immediate Jira pushes")


def session_factory_for(session: Session) -> sessionmaker[Session]:
    """Sessions on the same database as `session`, for the short transactions of a sync run."""
    return sessionmaker(bind=session.get_bind(), expire_on_commit=False)
