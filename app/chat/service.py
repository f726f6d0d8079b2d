"""Recording chat notices in the outbox, in the transaction of the change that causes them.

A notice becomes one outbox row per channel that is on and wants its kind (`[slack] messages`,
`[teams] messages`). Rows are sent after the commit (`delivery.deliver_after_commit`) and by the
scheduler's `chat.outbox` job until a channel takes them. "Once" notices carry a dedupe key,
inserted with ON CONFLICT DO NOTHING, so repeats and races record them once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.chat import messages
from app.chat.models import ChatChannelName, ChatKind, ChatOutbox, ChatStatus
from app.core.dates import org_now, org_today
from app.db import dialect_insert, utcnow
from app.retros.calendar import WorkCalendar
from app.retros.models import RetroStatus, Retrospective
from app.search.related import recurrence_text, recurrences
from config import Settings
from integrations.chat import CHANNEL_WIDE, ChatMessage


def channels_for(settings: Settings, kind: ChatKind) -> list[ChatChannelName]:
    """The channels that are on and take messages of `kind`."""
    wanted = []
    if settings.slack.enabled and kind in settings.slack.messages:
        wanted.append(ChatChannelName.SLACK)
    if settings.teams.enabled and kind in settings.teams.messages:
        wanted.append(ChatChannelName.TEAMS)
    return wanted


def queue(
    session: Session, *, kind: ChatKind, message: ChatMessage, settings: Settings,
    retrospective_id: int | None = None, dedupe_key: str | None = None,
) -> list[int]:
    """Record `message` for every channel that wants `kind`; returns the new rows' ids (none for a repeat)."""
    ids = []
    now = utcnow()
    for channel in channels_for(settings, kind):
        values = dict(
            channel=channel.value, kind=kind.value, retrospective_id=retrospective_id, message=message.to_json(),
            status=ChatStatus.PENDING.value, attempts=0, created_at=now,
            # A channel that asked to wait (a 429's Retry-After) or is down gets nothing new before then.
            next_attempt_at=max(held_until(session, channel=channel.value, now=now) or now, now),
            dedupe_key=f"{channel.value}:{dedupe_key}" if dedupe_key else None,
        )
        insert = dialect_insert(session, ChatOutbox).values(**values)
        if dedupe_key:
            insert = insert.on_conflict_do_nothing(index_elements=["dedupe_key"])
        new_id = session.scalar(insert.returning(ChatOutbox.id))
        if new_id is not None:
            ids.append(new_id)
    return ids


def queue_booked(session: Session, *, retro: Retrospective, settings: Settings) -> list[int]:
    """The retro was booked: once (booking runs again on every change of a resolved incident)."""
    # The channel is read by anyone: a recurrence names public incidents only (a private one's notice says nothing).
    recurrence = "" if retro.incident.is_private else recurrence_text(
        recurrences(session, incident=retro.incident, viewer=None))
    return queue(session, kind=ChatKind.BOOKED, message=messages.booked(settings, retro, recurrence=recurrence),
                 settings=settings, retrospective_id=retro.id, dedupe_key=f"booked:{retro.id}")


def queue_scheduled(session: Session, *, retro: Retrospective, previous: datetime | None, settings: Settings) -> list[int]:
    """The retro got a (new) time; nothing when it was unscheduled or kept its time."""
    if retro.scheduled_for is None or retro.scheduled_for == previous:
        return []
    message = messages.scheduled(settings, retro, moved=previous is not None)
    return queue(session, kind=ChatKind.SCHEDULED, message=message, settings=settings, retrospective_id=retro.id)


def queue_completed(session: Session, *, retro: Retrospective, settings: Settings) -> list[int]:
    """The retro was held: once."""
    return queue(session, kind=ChatKind.COMPLETED, message=messages.completed(session, settings, retro),
                 settings=settings, retrospective_id=retro.id, dedupe_key=f"completed:{retro.id}")


def queue_at_risk(session: Session, *, settings: Settings, now: datetime | None = None) -> list[int]:
    """Warn once about each pending retro whose deadline is at most one working day away (and not past)."""
    if not channels_for(settings, ChatKind.AT_RISK):
        return []
    now = now or utcnow()
    horizon = WorkCalendar.from_settings(settings).add_working_days(now, 1)
    retros = session.scalars(
        select(Retrospective).where(
            Retrospective.status == RetroStatus.PENDING, Retrospective.scheduled_for.is_(None),
            Retrospective.deadline_at > now, Retrospective.deadline_at <= horizon,
        ).order_by(Retrospective.id)
    ).all()
    ids: list[int] = []
    for retro in retros:
        ids += queue(session, kind=ChatKind.AT_RISK, message=messages.at_risk(settings, retro), settings=settings,
                     retrospective_id=retro.id, dedupe_key=f"at_risk:{retro.id}:{retro.deadline_at.isoformat()}")
    return ids


# How long after its weekday and hour a week's digest may still go out: a scheduler that was down then
# (a restart, a deploy, a night-long outage) sends it when it is back, rather than skipping the week.
DIGEST_CATCH_UP = timedelta(hours=24)


def digest_week(settings: Settings, now: datetime | None = None) -> str | None:
    """The ISO week ("2026-W49") whose digest is due now: from the configured weekday and hour, for a day."""
    local = org_now(settings, now)
    due = (local - timedelta(days=local.isoweekday() - settings.chat.digest_weekday)).replace(
        hour=settings.chat.digest_hour, minute=0, second=0, microsecond=0)
    if due > local:
        due -= timedelta(days=7)
    if local - due >= DIGEST_CATCH_UP:
        return None
    year, week, _ = due.isocalendar()
    return f"{year}-W{week:02d}"


def queue_digest(session: Session, *, settings: Settings, now: datetime | None = None, force: bool = False) -> list[int]:
    """The week's digest of overdue action items, once a week (`force`: now, for the week, whatever the day)."""
    if not channels_for(settings, ChatKind.DIGEST):
        return []
    week = digest_week(settings, now)
    if week is None and force:
        year, number, _ = org_now(settings, now).isocalendar()
        week = f"{year}-W{number:02d}"
    if week is None:
        return []
    items = session.scalars(
        select(ActionItem).where(ActionItem.status.in_(ActionStatus.still_open()),
                                 ActionItem.due_date < org_today(settings, now))
        .order_by(ActionItem.due_date, ActionItem.id)
    ).all()
    if not items:
        return []
    return queue(session, kind=ChatKind.DIGEST, message=messages.digest(settings, items), settings=settings,
                 dedupe_key=f"digest:{week}")


def held_until(session: Session, *, channel: str, now: datetime) -> datetime | None:
    """Until when `channel` waits after a failure of the channel as a whole (None: it does not)."""
    return session.scalar(
        select(func.max(ChatOutbox.next_attempt_at)).where(
            ChatOutbox.channel == channel, ChatOutbox.status == ChatStatus.PENDING,
            ChatOutbox.error_kind.in_(CHANNEL_WIDE), ChatOutbox.next_attempt_at > now,
        )
    )


def release_held(session: Session, *, channel: str, now: datetime | None = None) -> int:
    """`channel` took a message again (a test message): what waits for it is due now; returns how many."""
    now = now or utcnow()
    return session.execute(
        update(ChatOutbox).where(ChatOutbox.channel == channel, ChatOutbox.status == ChatStatus.PENDING,
                                 ChatOutbox.next_attempt_at > now)
        .values(next_attempt_at=now).execution_options(synchronize_session=False)
    ).rowcount


def give_up_before(settings: Settings, now: datetime) -> datetime:
    """Rows recorded before this are given up after their next failure."""
    return now - timedelta(hours=settings.chat.give_up_hours)
