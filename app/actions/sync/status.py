"""Where one item stands with Jira, as pages read it: the state, the kind of the last failure, the next try."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, JiraOutbox

# `record_failure` writes "[kind] message" into the outbox row's last_error.
_KIND = re.compile(r"^\[(?P<kind>[a-z_]+)\] ")
# What an "unreachable" failure was, when the raw text says (for "connection refused" in words).
_REFUSED = re.compile(r"connection refused|errno 111|errno 61|actively refused", re.IGNORECASE)


@dataclass(frozen=True)
class SyncView:
    """One item's Jira state: `failure` is a JiraFailure kind ("unreachable", "timeout", ...) or None.

    `refused` tells a refused connection from other ways of not reaching Jira; `raw` is the
    adapter's text, for logs and the API only, never for a page.
    """

    status: str
    jira_key: str | None
    failure: str | None
    refused: bool
    attempts: int
    next_attempt_at: datetime | None
    raw: str | None


def sync_view(session: Session, *, item: ActionItem) -> SyncView:
    """The item's sync state with the pending outbox row's attempts and next try, if any."""
    row = session.scalar(select(JiraOutbox).where(JiraOutbox.action_item_id == item.id))
    failure = None
    raw = row.last_error if row is not None else None
    if raw:
        match = _KIND.match(raw)
        failure = match["kind"] if match else "unknown"
    return SyncView(
        status=item.sync_status, jira_key=item.jira_key, failure=failure,
        refused=bool(raw and _REFUSED.search(raw)), attempts=row.attempts if row is not None else 0,
        next_attempt_at=row.next_attempt_at if row is not None else None, raw=item.last_sync_error,
    )
