"""Sending the chat outbox: claim, commit, post with no transaction open, record each outcome.

A run claims due rows (status `sending`, a token, `claimed_until`) in one UPDATE that
PostgreSQL lets only one process make (rows another holds are skipped) and SQLite
serialises; the claim is committed before any channel is called (`app.db.call_outside`).
Each row's outcome is committed before the next row is sent, and a run starts a request only
while its claim can cover it (`chat.sending_seconds`; the settings check that a whole batch
fits), so no claim runs out while its message is being sent. A process that dies mid-send
leaves claims that expire: the next run sends those rows, once (the one being sent when it
died may go twice: a channel's answer that never came cannot tell us whether it posted).
An outcome is recorded only on rows still claimed by this run's token. A failure backs the
row off exponentially; a 429 waits as long as its Retry-After asks; a channel-wide failure
(down, throttling, refused token) leaves that channel's other rows for the next try, unattempted;
a refusal that needs a person (token, channel, webhook) waits the longest backoff; a message
the channel refused as such is given up at once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.chat.models import ChatChannelName, ChatOutbox, ChatStatus
from app.chat.service import give_up_before
from app.db import call_outside, then_in_own_session, utcnow
from config import Settings
from integrations.chat import ChatChannel, ChatFailure, ChatMessage, Timeouts, slack_channel, teams_channel

log = logging.getLogger(__name__)


def chat_channels(settings: Settings) -> dict[str, ChatChannel]:
    """The channels that are on, by name (each one off is said once in the log)."""
    timeouts = Timeouts(connect=settings.chat.connect_timeout_seconds, read=settings.chat.read_timeout_seconds)
    slack = settings.slack
    found: dict[str, ChatChannel | None] = {
        ChatChannelName.SLACK.value: slack_channel(webhook_url=slack.webhook_url, bot_token=slack.bot_token,
                                                   channel=slack.channel, api_url=slack.api_url, timeouts=timeouts),
        ChatChannelName.TEAMS.value: teams_channel(webhook_url=settings.teams.webhook_url, timeouts=timeouts),
    }
    return {name: channel for name, channel in found.items() if channel is not None}


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    given_up: int = 0
    outcomes: dict[int, ChatFailure | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "deferred": self.deferred, "given_up": self.given_up}


def deliver_after_commit(session: Session, ids: Sequence[int]) -> None:
    """Try to send these rows as soon as the caller's transaction has committed."""
    if not ids:
        return
    wanted = list(ids)
    settings = current_app.extensions["hindsight.settings"]
    then_in_own_session(session, lambda own: deliver(own, settings=settings, ids=wanted), what=f"chat messages {wanted}")


def deliver(
    session: Session, *, settings: Settings, ids: Iterable[int] | None = None, now: datetime | None = None,
    channels: dict[str, ChatChannel] | None = None,
) -> DeliveryRun:
    """Send the due rows (or the due ones among `ids`), recording each outcome on its row as soon as it is known.

    Each outcome is committed before the next message is sent (`call_outside`), so a process that
    dies mid-batch sends again only the message it was sending, not the ones already taken. A run
    starts a request only if it would end (at its timeouts) within the first `chat.sending_seconds`
    of the claim; the rows it did not reach go back to the queue, untried.
    """
    now = now or utcnow()
    channels = chat_channels(settings) if channels is None else channels
    run = DeliveryRun()
    if not channels:
        return run
    token = str(uuid.uuid4())
    claimed_at = time.monotonic()
    claimed = _claim(session, settings=settings, ids=ids, now=now, token=token, channels=list(channels))
    if not claimed:
        return run
    rows = session.scalars(
        select(ChatOutbox).where(ChatOutbox.id.in_(claimed)).order_by(ChatOutbox.id)
        .execution_options(populate_existing=True)
    ).all()
    work = [(row.id, row.channel, ChatMessage.from_json(row.message)) for row in rows]
    stopped: set[str] = set()
    # A channel that asked to wait (429) or failed as a whole: its unattempted rows wait as long.
    waits: dict[str, tuple[datetime, ChatFailure]] = {}
    for row_id, name, message in work:
        in_time = time.monotonic() - claimed_at + settings.chat.request_seconds <= settings.chat.sending_seconds
        if name in stopped or not in_time:
            outcome: ChatFailure | None = NOT_ATTEMPTED
        else:
            # The claims and the outcomes recorded so far are committed before the channel is called.
            outcome = call_outside(session, lambda channel=channels[name], message=message: _send(channel, message))
            if outcome is not None and outcome.channel_wide:
                stopped.add(name)
        _record(session, row_id, outcome, settings=settings, token=token, run=run, waits=waits)
    session.flush()
    return run


def _claim(
    session: Session, *, settings: Settings, ids: Iterable[int] | None, now: datetime, token: str, channels: list[str],
) -> list[int]:
    expired = and_(ChatOutbox.status == ChatStatus.SENDING, ChatOutbox.claimed_until < now)
    # Due ones only, even among `ids`: a row recorded while its channel asked to wait is due when the wait ends.
    claimable = or_(and_(ChatOutbox.status == ChatStatus.PENDING, ChatOutbox.next_attempt_at <= now), expired)
    due = select(ChatOutbox.id).where(claimable, ChatOutbox.channel.in_(channels))
    if ids is not None:
        due = due.where(ChatOutbox.id.in_(list(ids)))
    due = due.order_by(ChatOutbox.id).limit(settings.chat.batch).with_for_update(skip_locked=True)
    return list(session.scalars(
        update(ChatOutbox)
        .where(ChatOutbox.id.in_(due.scalar_subquery()), claimable)
        .values(status=ChatStatus.SENDING, claim_token=token, attempts=ChatOutbox.attempts + 1, last_attempt_at=now,
                claimed_until=now + timedelta(seconds=settings.chat.claim_seconds))
        .returning(ChatOutbox.id)
        .execution_options(synchronize_session=False)
    ).all())


# The outcome of a row its run did not try: its channel failed as a whole earlier in the run, or the claim ran short.
NOT_ATTEMPTED = ChatFailure("not_attempted", "not attempted: its channel failed as a whole earlier in the run, "
                            "or the run's claim had too little time left")
# Failures that wait for a person (a token, a channel, a webhook to fix): retried at the longest backoff only.
NEEDS_A_PERSON = ("auth", "channel", "gone")


def _send(channel: ChatChannel, message: ChatMessage) -> ChatFailure | None:
    try:
        channel.send(message)
    except ChatFailure as failure:
        return failure
    return None


def backoff_seconds(attempts: int, *, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """base * 2^(attempts-1), capped, times 0.5-1.0 so that many rows do not retry in one burst."""
    return min(base * 2 ** max(attempts - 1, 0), cap) * (0.5 + rand() / 2)


def _record(
    session: Session, row_id: int, outcome: ChatFailure | None, *, settings: Settings, token: str, run: DeliveryRun,
    waits: dict[str, tuple[datetime, ChatFailure]],
) -> None:
    """Record one row's outcome, if the row is still this run's (a run whose claim ran out leaves it alone)."""
    row = session.scalars(
        select(ChatOutbox).where(ChatOutbox.id == row_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    run.outcomes[row.id] = outcome
    if row.claim_token != token or row.status != ChatStatus.SENDING:
        return  # claimed again by another run after ours expired: its outcome is its own
    now = utcnow()
    row.claim_token, row.claimed_until = None, None
    if outcome is None:
        row.status, row.sent_at, row.error_kind, row.last_error = ChatStatus.SENT, now, None, None
        run.sent += 1
        return
    if outcome is NOT_ATTEMPTED:
        row.attempts = max(row.attempts - 1, 0)
        held = waits.get(row.channel)
        if held is not None and row.created_at < give_up_before(settings, now):
            # Its channel failed again and it is past its day: given up like the row that tried for it.
            row.status, row.error_kind, row.last_error = ChatStatus.GIVEN_UP, held[1].kind, held[1].detail[:2000]
            run.given_up += 1
            return
        row.status, row.next_attempt_at = ChatStatus.PENDING, held[0] if held is not None else now
        run.deferred += 1
        return
    delay = backoff_seconds(row.attempts, base=settings.chat.retry_base_seconds, cap=settings.chat.retry_max_seconds)
    if outcome.kind in NEEDS_A_PERSON:
        # Trying sooner only repeats the refusal; a fixed setting means a restart, or a test message that goes
        # through (the Integrations page), and either sends what waits at once.
        delay = settings.chat.retry_max_seconds
    if outcome.retry_after is not None:
        # The channel said when: exactly that for a 429, at least that otherwise.
        delay = outcome.retry_after if outcome.kind == "rate_limited" else max(delay, outcome.retry_after)
        # ...but never longer than the longest backoff: a huge Retry-After must not park a message for ever.
        delay = min(delay, settings.chat.retry_max_seconds)
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.error_kind, row.last_error = outcome.kind, outcome.detail[:2000]
    if outcome.channel_wide:
        waits[row.channel] = (row.next_attempt_at, outcome)
    # A refused message (the channel read it and said no) would be refused again: given up at once.
    if outcome.kind == "rejected" or row.created_at < give_up_before(settings, now):
        row.status = ChatStatus.GIVEN_UP
        run.given_up += 1
        log.error("chat message %s (%s) to %s given up after %s attempts: %s", row.id, row.kind, row.channel,
                  row.attempts, outcome.detail)
        return
    row.status = ChatStatus.PENDING
    run.failed += 1
    log.warning("chat message %s (%s) to %s not sent (%s, attempt %s): %s", row.id, row.kind, row.channel,
                outcome.kind, row.attempts, outcome.detail)
