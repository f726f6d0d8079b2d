"""Pushing claimed items to Jira, and recording each outcome on the item and its outbox row."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from app.actions.models import ActionItem, JiraOutbox, SyncStatus
from app.actions.service import record_change
from app.actions.sync.claiming import Claim, claim, renew
from app.actions.sync.mapping import Desired, SessionFactory, SyncRun, desired_state, item_label, lock_item
from app.actions.sync.pulling import apply_issue, jira_ident, remember_jira
from app.db import utcnow
from app.people.models import Person
from config import Settings
from integrations.jira import IssueFields, JiraClient, JiraFailure, JiraIssue, backoff_seconds

log = logging.getLogger(__name__)


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
) -> SyncRun:
    """Push every due outbox row (all pending ones if `force`); stops early if Jira is down or throttling."""
    counts = SyncRun()
    seen: set[int] = set()
    ids = list(item_ids) if item_ids is not None else None
    batch = settings.jira.push_batch
    while True:
        claims = claim(factory, settings=settings, force=force, limit=batch, item_ids=ids, exclude=seen)
        if not claims:
            return counts
        seen.update(c.outbox_id for c in claims)
        for index, taken in enumerate(claims):
            if not renew(factory, taken, settings=settings):
                continue  # another worker has it now
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
        item = lock_item(session, item_id)
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
        item = lock_item(session, taken.item_id)
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
            assignee=result.assignee if result.assignee is not None else jira_ident(issue.assignee),
            owner=desired.owner_email, due_date=desired.duedate.isoformat(), status=desired.category,
        )
        item.jira_state = state
        if issue.updated is not None and (item.jira_updated_at is None or issue.updated > item.jira_updated_at):
            item.jira_updated_at = issue.updated
        item.synced_at = utcnow()
        item.last_sync_error = " ".join(result.warnings) or None
        if row is None or row.claim_token != taken.token:
            item.sync_status = SyncStatus.SYNCED if row is None else SyncStatus.PENDING
        elif row.version == taken.version:
            session.delete(row)
            item.sync_status = SyncStatus.SYNCED
        else:
            # Changed while we pushed: leave the row for the next push, due now.
            row.claimed_until, row.claim_token = None, None
            row.attempts, row.uncertain, row.last_error = 0, False, None
            row.next_attempt_at = utcnow()
            item.sync_status = SyncStatus.PENDING


def record_failure(
    factory: SessionFactory, taken: Claim, failure: JiraFailure, *, settings: Settings,
    result: PushResult | None = None, attempted: bool = True,
) -> None:
    """Back the row off and show the error on the item; keep any issue key already learned."""
    now = utcnow()
    with factory() as session, session.begin():
        item = lock_item(session, taken.item_id)
        row = session.get(JiraOutbox, taken.outbox_id, with_for_update=True)
        if item is not None and result is not None and result.key and item.jira_key is None:
            item.jira_key, item.jira_issue_id = result.key, result.issue_id
            record_change(session, item=item, field="jira_key", old=None, new=result.key, via="system")
        if item is not None and result is not None and result.issue is not None:
            # Part of the push went through (e.g. the create, not the transition): Jira holds our values.
            remember_jira(item, result.issue)
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
        # The kind leads, in brackets, so a page can say what happened in words (`status.sync_view`).
        row.last_error = f"[{failure.kind}] {message}"
        log.warning("Jira push of action item %s failed (%s, attempt %s): %s", taken.item_id, failure.kind,
                    row.attempts, message)
        row.claimed_until, row.claim_token = None, None
        if item is not None:
            item.sync_status = SyncStatus.FAILED
            item.last_sync_error = (
                f"{message} (attempt {row.attempts}; next after {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
