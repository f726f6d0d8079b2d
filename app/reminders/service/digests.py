"""Reminder digests.

Digests: one email per owner per day listing their open items that are overdue,
due today or due within `reminders.due_soon_days`. A run first claims what it
will send with one INSERT ... SELECT ... ON CONFLICT into `reminder_log`, whose
unique key (item, reason, day) is what makes each reminder go out once however
many runs race; rows whose email SMTP refused are kept as `failed`, which the
next run claims again. Claims, sends and failures live in the run's transaction,
so a process that dies mid-run leaves nothing marked sent.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Date, String, and_, case, exists, literal, or_, select, update
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.core.dates import org_now
from app.db import UTCDateTime, call_outside, dialect_insert, utcnow
from app.incidents.access import incident_visible_to
from app.incidents.models import Incident
from app.people.models import Person
from app.reminders.mail import mail_enabled, render, smtp_config
from app.reminders.models import ReminderLog, ReminderSnooze
from app.retros.models import Retrospective
from config import Settings
from integrations.smtp import Email, mail_on, send_all

log = logging.getLogger(__name__)

REASON_TITLES = {"overdue": "Overdue", "due_today": "Due today", "due_soon": "Due soon"}

# A digest claim older than this belongs to a run that died while sending: it is claimed again.
DIGEST_CLAIM = timedelta(minutes=15)

# Failed digests are marked in groups of owners, so a run's statement count stays small.
_OWNER_CHUNK = 500


def digest_day(settings: Settings, now: datetime | None = None) -> date | None:
    """The day whose digests are due at `now`: today once `reminders.hour` has passed locally."""
    local = org_now(settings, now)
    return local.date() if local.hour >= settings.reminders.hour else None


@dataclass(frozen=True)
class DigestRun:
    as_of: date
    emails_sent: int
    items: int
    failed: int
    mail_enabled: bool


def _claim_digest_rows(session: Session, *, as_of: date, settings: Settings, token: str, now: datetime) -> None:
    horizon = as_of + timedelta(days=settings.reminders.due_soon_days)
    day = literal(as_of, Date())
    reason = case(
        (ActionItem.is_overdue(day), literal("overdue")),
        (ActionItem.due_date == day, literal("due_today")),
        else_=literal("due_soon"),
    )
    stamp = literal(now, UTCDateTime())
    live_claim = ReminderLog.updated_at >= literal(now - DIGEST_CLAIM, UTCDateTime())
    already_mailed_today = exists().where(
        ReminderLog.owner_id == ActionItem.owner_id, ReminderLog.day == day,
        or_(ReminderLog.status == "sent", and_(ReminderLog.status == "sending", live_claim)),
    )
    snoozed = exists().where(ReminderSnooze.action_item_id == ActionItem.id, ReminderSnooze.until > day)
    candidates = (
        select(
            ActionItem.id, ActionItem.owner_id, reason, day, literal("sending"), literal(token, String()),
            literal(1), stamp, stamp, stamp,
        )
        .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(
            ActionItem.status.in_(ActionStatus.still_open()),
            ActionItem.due_date <= literal(horizon, Date()),
            ~snoozed,
            # One digest per owner per day: what falls due after it waits for tomorrow's.
            ~already_mailed_today,
            incident_visible_to(ActionItem.owner_id),
        )
    )
    insert = dialect_insert(session, ReminderLog).from_select(
        ["action_item_id", "owner_id", "reason", "day", "status", "claim_token", "attempts",
         "sent_at", "created_at", "updated_at"],
        candidates,
    )
    # A row another run already sent, or is sending, stays as it is; one whose email failed, or
    # whose run died while sending, is claimed again.
    insert = insert.on_conflict_do_update(
        index_elements=["action_item_id", "reason", "day"],
        set_={
            "status": "sending",
            "claim_token": insert.excluded.claim_token,
            "attempts": ReminderLog.attempts + 1,
            "sent_at": insert.excluded.sent_at,
            "last_error": None,
            "updated_at": insert.excluded.updated_at,
        },
        where=or_(ReminderLog.status == "failed", and_(ReminderLog.status == "sending", ~live_claim)),
    )
    session.execute(insert)


def _claimed_rows(session: Session, token: str) -> list[Any]:
    return list(session.execute(
        select(
            ReminderLog.reason, ActionItem.id, ActionItem.title, ActionItem.due_date, ActionItem.jira_key,
            Person.id, Person.email, Person.name, Incident.id, Incident.title, Incident.visibility,
            Retrospective.id,
        )
        .join(ActionItem, ActionItem.id == ReminderLog.action_item_id)
        .join(Person, Person.id == ReminderLog.owner_id)
        .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(ReminderLog.claim_token == token)
        .order_by(Person.id, ActionItem.due_date, ActionItem.id)
    ))


def _digest_email(rows: list[Any], *, as_of: date, settings: Settings) -> Email:
    base = settings.base_url
    jira_base = settings.jira.url.rstrip("/")
    groups: dict[str, list[dict[str, Any]]] = {reason: [] for reason in REASON_TITLES}
    for reason, item_id, title, due_date, jira_key, _pid, _email, _name, incident_id, incident_title, \
            visibility, _retro_id in rows:
        private = visibility == "private"
        groups[reason].append({
            "id": item_id,
            # A private incident's details stay out of mailboxes: the link shows them after sign-in.
            "title": f"Action item #{item_id} (private incident)" if private else title,
            "incident": None if private else f"#{incident_id} {incident_title}",
            "private": private,
            "due_date": due_date,
            "days": abs((as_of - due_date).days),
            "url": f"{base}/action-items/{item_id}",
            "jira_key": jira_key,
            "jira_url": f"{jira_base}/browse/{jira_key}" if jira_key and jira_base else None,
        })
    sections = [(REASON_TITLES[reason], reason, items) for reason, items in groups.items() if items]
    counts = ", ".join(f"{len(items)} {title.lower()}" for title, _reason, items in sections)
    total = len(rows)
    noun = "action item needs" if total == 1 else "action items need"
    subject = f"Hindsight: {total} {noun} attention ({counts})"
    context = {"name": rows[0][7], "as_of": as_of, "sections": sections, "base_url": base,
               "list_url": f"{base}/action-items?{urlencode({'owner': rows[0][6]})}"}
    return Email(
        to=rows[0][6], subject=subject,
        text=render("digest.txt", **context), html=render("digest.html", **context),
    )


def send_digests(session: Session, *, as_of: date, settings: Settings, now: datetime | None = None) -> DigestRun:
    """Send `as_of`'s digests that have not gone out yet; refused ones are kept for the next run.

    The claims (`sending`) are committed before the first email goes out (`call_outside`), so
    no transaction or SQLite write lock is held while SMTP answers, or fails to; the outcome
    (`sent` or `failed`) is recorded in `session` afterwards, for the caller to commit.
    """
    now = now or utcnow()
    config = smtp_config(settings)
    if not mail_on(config):
        return DigestRun(as_of=as_of, emails_sent=0, items=0, failed=0, mail_enabled=False)
    token = uuid.uuid4().hex
    _claim_digest_rows(session, as_of=as_of, settings=settings, token=token, now=now)
    by_owner: dict[int, list[Any]] = defaultdict(list)
    for row in _claimed_rows(session, token):
        by_owner[row[5]].append(row)
    emails = ((owner_id, _digest_email(rows, as_of=as_of, settings=settings)) for owner_id, rows in by_owner.items())
    refused = call_outside(
        session, lambda: send_all(config, settings.mail_from, emails, connections=settings.smtp.connections)
    )
    failures: dict[str, list[int]] = defaultdict(list)
    for owner_id, exc in refused.items():
        failures[exc.message].append(owner_id)
        log.warning("reminder digest to %s not sent: %s", by_owner[owner_id][0][6], exc.message)
    sent_emails = len(by_owner) - len(refused)
    sent_items = sum(len(rows) for owner_id, rows in by_owner.items() if owner_id not in refused)
    for message, owner_ids in failures.items():
        for start in range(0, len(owner_ids), _OWNER_CHUNK):
            session.execute(
                update(ReminderLog)
                .where(ReminderLog.claim_token == token, ReminderLog.owner_id.in_(owner_ids[start:start + _OWNER_CHUNK]))
                .values(status="failed", sent_at=None, last_error=message, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    session.execute(
        update(ReminderLog)
        .where(ReminderLog.claim_token == token, ReminderLog.status == "sending")
        .values(status="sent", sent_at=now, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    failed = len(refused)
    if sent_emails or failed:
        log.info("reminder digests for %s: %d sent (%d items), %d failed", as_of, sent_emails, sent_items, failed)
    return DigestRun(as_of=as_of, emails_sent=sent_emails, items=sent_items, failed=failed, mail_enabled=True)
