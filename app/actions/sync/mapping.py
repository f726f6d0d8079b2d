"""What an action item is in Jira, and the pieces every part of the sync shares."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, JiraSyncState
from app.core.schemas import MAX_ID
from app.db import utcnow
from config import Settings
from integrations.jira import JiraConfig
from integrations.off import say_off_once

log = logging.getLogger(__name__)

STATUS_CATEGORY = {"open": "new", "in_progress": "indeterminate", "done": "done", "wont_do": "done"}
CATEGORY_STATUS = {"new": "open", "indeterminate": "in_progress", "done": "done"}
CURSOR = "reconcile_cursor"
LAST_PULL_ERROR = "last_pull_error"
SessionFactory = Callable[[], Session]


@dataclass
class SyncRun:
    """What one run did (`enabled` False: Jira sync is off, nothing was tried)."""

    enabled: bool = True
    created: int = 0
    updated: int = 0
    pulled: int = 0
    failed: int = 0
    adopted: int = 0
    stopped: str | None = None
    # The kind of the last failure (JiraFailure.kind), if any.
    last_failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("enabled", "stopped", "last_failure")}


def jira_config(settings: Settings) -> JiraConfig:
    jira = settings.jira
    return JiraConfig(
        url=jira.url, project=jira.project, user=jira.user, token=jira.token, issue_type=jira.issue_type,
        deployment=jira.deployment, timeout=jira.timeout_seconds, max_retries=jira.max_retries,
        page_size=jira.page_size,
    )


def log_off_once() -> None:
    """'Jira not configured' means off: said once per process, not an error on every run."""
    say_off_once(log, "jira", "Jira sync is off: set HINDSIGHT_JIRA_URL and HINDSIGHT_JIRA_PROJECT to turn it on.")



def item_label(settings: Settings, item_id: int) -> str:
    return f"{settings.jira.label}-{item_id}"


def item_id_from_labels(settings: Settings, labels: Iterable[str]) -> int | None:
    prefix = settings.jira.label + "-"
    for label in labels:
        if isinstance(label, str) and label.startswith(prefix) and label[len(prefix):].isascii() and label[len(prefix):].isdigit():
            item_id = int(label[len(prefix):])
            if item_id <= MAX_ID:
                return item_id
    return None


def in_project(settings: Settings, key: str) -> bool:
    """Whether an issue key belongs to the configured project (labels alone prove nothing)."""
    return key.startswith(f"{settings.jira.project}-")


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


def lock_item(session: Session, item_id: int) -> ActionItem | None:
    """The item, row-locked on PostgreSQL so a push and a pull of it apply one after the other."""
    return session.scalar(select(ActionItem).where(ActionItem.id == item_id).with_for_update(of=ActionItem))


def set_state(session: Session, name: str, value: str | None) -> None:
    row = session.get(JiraSyncState, name)
    if row is None:
        session.add(JiraSyncState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
