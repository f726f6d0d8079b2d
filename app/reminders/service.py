"""Reminder digests, snoozes, retro nudges and calendar invitations.

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
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Date, String, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.actions.models import ActionItem
from app.auth.models import User
from app.core.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from app.core.dates import org_now, org_today
from app.db import UTCDateTime, call_outside, utcnow
from app.incidents.access import incident_visible_to, visible_incidents
from app.incidents.models import Incident
from app.people.models import Person
from app.reminders.mail import deliver_after_commit, enqueue, mail_enabled, render, smtp_config
from app.reminders.models import EmailOutbox, ReminderLog, ReminderSnooze, RetroCalendarEvent
from app.retros.models import Retrospective
from config import Settings
from integrations.calendar import Attendee, Meeting, build_ics
from integrations.smtp import Email, mail_on, send_all

log = logging.getLogger(__name__)

REMINDED_STATUSES = ("open", "in_progress")
REASON_TITLES = {"overdue": "Overdue", "due_today": "Due today", "due_soon": "Due soon"}
# A digest claim older than this belongs to a run that died while sending: it is claimed again.
DIGEST_CLAIM = timedelta(minutes=15)
# Failed digests are marked in groups of owners, so a run's statement count stays small.
_OWNER_CHUNK = 500


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT with ON CONFLICT support for the session's database (PostgreSQL or SQLite)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(model)


def digest_day(settings: Settings, now: datetime | None = None) -> date | None:
    """The day whose digests are due at `now`: today once `reminders.hour` has passed locally."""
    local = org_now(settings, now)
    return local.date() if local.hour >= settings.reminders.hour else None


# -- digests -------------------------------------------------------------------------------


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
        (ActionItem.due_date < day, literal("overdue")),
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
            ActionItem.status.in_(REMINDED_STATUSES),
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


# -- snoozes -------------------------------------------------------------------------------


def _visible_item(session: Session, *, viewer: User, item_id: int) -> ActionItem:
    item = session.scalar(
        select(ActionItem)
        .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(ActionItem.id == item_id, visible_incidents(viewer))
    )
    if item is None:
        raise NotFound(f"Action item {item_id} does not exist.")
    return item


def _require_owner_or_admin(item: ActionItem, viewer: User) -> None:
    if not (viewer.is_admin or viewer.person_id == item.owner_id):
        raise Forbidden("Only the item's owner or an admin can snooze its reminders.", code="not_owner")


def get_snooze(session: Session, *, item_id: int) -> ReminderSnooze | None:
    return session.scalar(select(ReminderSnooze).where(ReminderSnooze.action_item_id == item_id))


def snooze_item(
    session: Session, *, viewer: User, item_id: int, until: date, reason: str, settings: Settings,
) -> tuple[ActionItem, ReminderSnooze, date | None]:
    """No reminders for the item before `until`; returns the item, the snooze and the end it replaced.

    `app.reminders.flows.snooze_item` keeps it in the item's history.

    Raises NotFound (not visible), Forbidden (not the owner or an admin), ValidationFailed
    (`until` not after today or too far away) and RuleViolation (the item is closed).
    """
    item = _visible_item(session, viewer=viewer, item_id=item_id)
    _require_owner_or_admin(item, viewer)
    today = org_today(settings)
    limit = today + timedelta(days=settings.reminders.max_snooze_days)
    if until <= today:
        raise ValidationFailed("A snooze ends after today.", fields={"until": f"must be after {today.isoformat()}"})
    if until > limit:
        raise ValidationFailed(
            f"Reminders can be snoozed for {settings.reminders.max_snooze_days} days at most.",
            fields={"until": f"must be on or before {limit.isoformat()}"},
        )
    if item.status not in REMINDED_STATUSES:
        raise RuleViolation(f"Action item {item.id} is {item.status}: it gets no reminders to snooze.",
                            code="item_closed", fields={"status": f"is {item.status}"})
    snooze = get_snooze(session, item_id=item.id)
    previous = snooze.until if snooze else None
    if snooze is None:
        snooze = ReminderSnooze(action_item_id=item.id, until=until, reason=reason)
        session.add(snooze)
    snooze.until = until
    snooze.reason = reason
    snooze.by_id = viewer.person_id
    snooze.created_at = utcnow()
    session.flush()
    return item, snooze, previous


def end_snooze(session: Session, *, viewer: User, item_id: int) -> tuple[ActionItem, date]:
    """Reminders resume at once; returns the item and the end its snooze had."""
    item = _visible_item(session, viewer=viewer, item_id=item_id)
    _require_owner_or_admin(item, viewer)
    snooze = get_snooze(session, item_id=item.id)
    if snooze is None:
        raise NotFound(f"Action item {item.id} is not snoozed.", code="not_snoozed")
    until = snooze.until
    session.delete(snooze)
    session.flush()
    return item, until


# -- nudges --------------------------------------------------------------------------------


def _incident_label(incident: Incident) -> str:
    return f"private incident #{incident.id}" if incident.is_private else f"#{incident.id} {incident.title}"


def _queue_once(session: Session, *, key: str, kind: str, person: Person, retro: Retrospective,
                subject: str, template: str, context: dict[str, Any]) -> int | None:
    """Queue an email unless one with `key` exists (the unique key decides, even across processes)."""
    context = context | {"name": person.name}
    insert = (
        dialect_insert(session, EmailOutbox)
        .values(
            kind=kind, dedupe_key=key, retrospective_id=retro.id, recipient=person.email, subject=subject,
            text_body=render(f"{template}.txt", **context), html_body=render(f"{template}.html", **context),
            status="pending", attempts=0, next_attempt_at=utcnow(), created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(EmailOutbox.id)
    )
    return session.scalar(insert)


def send_nudges(session: Session, *, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Queue the retro nudges that are due: unscheduled after `retro.nudge_after_hours`, and past deadline.

    Each goes once; they are sent right after the caller commits.
    """
    if not mail_enabled(settings):
        return {"queued": 0}
    now = now or utcnow()
    base = settings.base_url
    ids: list[int] = []

    def nudged(kind: str) -> Any:
        return exists().where(EmailOutbox.retrospective_id == Retrospective.id, EmailOutbox.kind == kind)

    unscheduled = session.scalars(
        select(Retrospective).join(Retrospective.incident).where(
            Retrospective.status == "pending", Retrospective.scheduled_for.is_(None),
            Incident.resolved_at <= now - timedelta(hours=settings.retro.nudge_after_hours),
            Retrospective.deadline_at > now, ~nudged("nudge_unscheduled"),
        )
    ).unique().all()
    for retro in unscheduled:
        commander = retro.incident.commander
        if commander is None:
            continue
        context = _nudge_context(retro, settings, base)
        queued = _queue_once(
            session, key=f"nudge:unscheduled:{retro.id}", kind="nudge_unscheduled", person=commander,
            retro=retro, subject=f"Schedule the retrospective of {context['incident_label']}",
            template="nudge_unscheduled", context=context,
        )
        if queued:
            ids.append(queued)

    overdue = session.scalars(
        select(Retrospective).join(Retrospective.incident).where(
            Retrospective.status.in_(("pending", "scheduled")), Retrospective.deadline_at < now,
            or_(Retrospective.scheduled_for.is_(None), Retrospective.scheduled_for > Retrospective.deadline_at),
            ~nudged("nudge_deadline"),
        )
    ).unique().all()
    for retro in overdue:
        incident = retro.incident
        recipients = [incident.commander]
        if incident.severity == "SEV0":
            recipients.append(incident.current_holder("executive_sponsor"))
        context = _nudge_context(retro, settings, base)
        seen: set[int] = set()
        for person in recipients:
            if person is None or person.id in seen:
                continue
            seen.add(person.id)
            queued = _queue_once(
                session, key=f"nudge:deadline:{retro.id}:{person.id}", kind="nudge_deadline", person=person,
                retro=retro, subject=f"The retrospective of {context['incident_label']} is past its deadline",
                template="nudge_deadline", context=context,
            )
            if queued:
                ids.append(queued)
    deliver_after_commit(session, ids)
    return {"queued": len(ids)}


def _nudge_context(retro: Retrospective, settings: Settings, base: str) -> dict[str, Any]:
    incident = retro.incident
    return {
        "incident_label": _incident_label(incident),
        "severity": incident.severity,
        "resolved_at": incident.resolved_at,
        "deadline_at": retro.deadline_at,
        "scheduled_for": retro.scheduled_for,
        "suggested_slot": retro.suggested_slot,
        "incident_url": f"{base}/incidents/{incident.id}",
    }


# -- invitations ---------------------------------------------------------------------------


def calendar_uid(retro_id: int, settings: Settings) -> str:
    """The retro's calendar UID: stable for its whole life, unique across Hindsight installs."""
    host = urlsplit(settings.base_url).hostname or "hindsight"
    return f"retro-{retro_id}@{host}"


def _locked_event(session: Session, retro: Retrospective, settings: Settings) -> RetroCalendarEvent:
    session.execute(
        dialect_insert(session, RetroCalendarEvent)
        .values(retrospective_id=retro.id, uid=calendar_uid(retro.id, settings), sequence=-1, attendees="",
                cancelled=False, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    # Two changes at once must not send the same SEQUENCE: the row lock orders them.
    return session.scalars(
        select(RetroCalendarEvent).where(RetroCalendarEvent.retrospective_id == retro.id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _attendees(retro: Retrospective) -> list[tuple[Person, bool]]:
    people: dict[str, tuple[Person, bool]] = {}
    if retro.facilitator is not None:
        people[retro.facilitator.email] = (retro.facilitator, True)
    for participant in retro.participants:
        people.setdefault(participant.person.email, (participant.person, False))
    return list(people.values())


def retro_schedule_changed(
    session: Session, *, retro: Retrospective, previous: datetime | None, settings: Settings
) -> None:
    """Queue the invitation, update or cancellation of the retro's meeting, sent after commit.

    Scheduling sends METHOD:REQUEST to the participants and the facilitator; every later
    call for the same retro (reschedule, or changed attendees) sends the same UID with a
    higher SEQUENCE, people no longer invited get METHOD:CANCEL, and unscheduling cancels.
    A call that changes neither the time nor the attendees sends nothing, so it may also be
    called after any change of participants or facilitator.
    """
    if not mail_enabled(settings):
        return
    event = _locked_event(session, retro, settings)
    invited = event.attendee_emails
    attendees = _attendees(retro)
    if retro.scheduled_for is None:
        start = event.starts_at or previous
        if event.sequence < 0 or event.cancelled or start is None:
            return
        event.sequence += 1
        event.cancelled = True
        by_email = {person.email: (person, chair) for person, chair in attendees}
        cancelled = [by_email.get(email, (None, False)) for email in invited]
        ids = _queue_invitations(session, retro=retro, settings=settings, event=event, method="CANCEL",
                                 start=start, recipients=invited, attendees=cancelled)
        event.attendees = ""
    else:
        emails = [person.email for person, _chair in attendees]
        if (event.sequence >= 0 and not event.cancelled and event.starts_at == retro.scheduled_for
                and emails == invited):
            return  # nothing a calendar shows has changed
        event.sequence += 1
        event.cancelled = False
        ids = _queue_invitations(session, retro=retro, settings=settings, event=event, method="REQUEST",
                                 start=retro.scheduled_for, recipients=emails,
                                 attendees=[(p, c) for p, c in attendees])
        removed = [email for email in invited if email not in emails]
        if removed:
            ids += _queue_invitations(session, retro=retro, settings=settings, event=event, method="CANCEL",
                                      start=retro.scheduled_for, recipients=removed,
                                      attendees=[(None, False)] * len(removed), removed=True)
        event.attendees = "\n".join(emails)
        event.starts_at = retro.scheduled_for
    session.flush()
    deliver_after_commit(session, ids)


def _queue_invitations(
    session: Session, *, retro: Retrospective, settings: Settings, event: RetroCalendarEvent, method: str,
    start: datetime | None, recipients: list[str], attendees: list[tuple[Person | None, bool]],
    removed: bool = False,
) -> list[int]:
    assert start is not None
    incident = retro.incident
    base = settings.base_url
    minutes = settings.retro.meeting_minutes
    end = start + timedelta(minutes=minutes)
    label = _incident_label(incident)
    doc_url = f"{base}/retrospectives/{retro.id}/document"
    rules = list(settings.retro.ground_rules)
    description = "\n".join(
        [f"Retrospective of {label}.", f"Read the document before the meeting: {doc_url}"]
        + (["", "Ground rules:"] + [f"- {rule}" for rule in rules] if rules else [])
    )
    meeting_attendees = tuple(
        Attendee(email=email, name=person.name if person else "", chair=chair)
        for email, (person, chair) in zip(recipients, attendees)
    )
    meeting = Meeting(
        uid=event.uid, sequence=event.sequence, start=start, end=end, summary=f"Retrospective: {label}",
        organizer_email=settings.mail_from, organizer_name="Hindsight", attendees=meeting_attendees,
        description=description, url=doc_url,
    )
    ics = build_ics(meeting, method="CANCEL" if method == "CANCEL" else "REQUEST", stamp=utcnow())
    if method == "CANCEL":
        kind, verb = "cancellation", "Cancelled"
    elif event.sequence > 0:
        kind, verb = "invitation", "Updated"
    else:
        kind, verb = "invitation", "Invitation"
    facilitator = retro.facilitator
    context = {
        "label": label, "start": start, "end": end, "minutes": minutes, "doc_url": doc_url,
        "incident_url": f"{base}/incidents/{incident.id}", "ground_rules": rules,
        "facilitator": facilitator.name if facilitator else None, "method": method, "update": event.sequence > 0,
        "removed": removed,
    }
    ids = []
    for email, (person, _chair) in zip(recipients, attendees):
        row = enqueue(
            session, kind=kind, recipient=email,
            subject=f"{verb}: Retrospective of {label} on {start.astimezone(settings.zone):%a %d %b %Y %H:%M %Z}",
            text=render("invitation.txt", name=person.name if person else None, **context),
            html=render("invitation.html", name=person.name if person else None, **context),
            ics=ics, ics_method=method, retrospective_id=retro.id,
        )
        session.flush()
        ids.append(row.id)
    return ids


# -- what admins see -----------------------------------------------------------------------


def mail_failures(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Emails SMTP has not taken yet: failed digests (by owner and day) and pending outbox rows that failed."""
    digests = session.execute(
        select(
            Person.email, ReminderLog.day, func.count(ReminderLog.id), func.max(ReminderLog.attempts),
            func.max(ReminderLog.last_error), func.max(ReminderLog.updated_at),
        )
        .join(Person, Person.id == ReminderLog.owner_id)
        .where(ReminderLog.status == "failed")
        .group_by(Person.email, ReminderLog.day)
        .order_by(ReminderLog.day.desc(), Person.email)
        .limit(limit)
    ).all()
    outbox = session.scalars(
        select(EmailOutbox).where(EmailOutbox.status == "pending", EmailOutbox.attempts > 0)
        .order_by(EmailOutbox.last_attempt_at.desc(), EmailOutbox.id.desc()).limit(limit)
    ).all()
    found: list[dict[str, Any]] = [
        {"kind": "digest", "recipient": email, "day": day, "items": count, "attempts": attempts,
         "last_error": error, "last_attempt_at": at, "next_attempt_at": None, "retrospective_id": None}
        for email, day, count, attempts, error, at in digests
    ]
    found += [
        {"kind": row.kind, "recipient": row.recipient, "day": None, "items": None, "attempts": row.attempts,
         "last_error": row.last_error, "last_attempt_at": row.last_attempt_at,
         "next_attempt_at": row.next_attempt_at, "retrospective_id": row.retrospective_id}
        for row in outbox
    ]
    return found
