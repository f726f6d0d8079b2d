"""Where each outside system stands, for the Integrations page: on or off, the last success, the last error in words.

Every error is said in words from what kind of failure it was, never from the raw text the
outside system answered (that is in the logs and on the rows, for admins with a database).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, JiraOutbox
from app.actions.wording import failure_in_words as jira_failure_in_words
from app.chat.models import ChatChannelName, ChatOutbox, ChatStatus
from app.chat.wording import channel_name, failure_in_words
from app.documents.models import DocumentPublication
from app.intake.models import IntakeDelivery, Sender
from app.reminders.models import EmailOutbox, ReminderLog
from config import Settings

# A Jira outbox row's last_error leads with its failure kind in brackets ("[timeout] ...").
JIRA_KIND = re.compile(r"^\[(?P<kind>[a-z_]+)\] ")


@dataclass(frozen=True)
class IntegrationStatus:
    """One row of the Integrations page. `last_label` says what `last_at` was ("Last message sent")."""

    key: str
    name: str
    on: bool
    off_hint: str
    last_label: str
    last_at: datetime | None
    error: str | None = None
    error_at: datetime | None = None
    waiting: int = 0
    can_test: bool = False


def intake_status(session: Session, *, settings: Settings) -> list[IntegrationStatus]:
    """The incident intake webhooks (PagerDuty, Rootly, incident.io): on when their secret is set, and
    the last event received. A refused delivery (bad signature) stores nothing, so it shows as no news."""
    last = dict(session.execute(
        select(IntakeDelivery.source, func.max(IntakeDelivery.received_at)).group_by(IntakeDelivery.source)
    ).all())
    senders = (
        (Sender.PAGERDUTY, "PagerDuty", settings.pagerduty.webhook_secret, "HINDSIGHT_PAGERDUTY_WEBHOOK_SECRET"),
        (Sender.ROOTLY, "Rootly", settings.rootly.webhook_secret, "HINDSIGHT_ROOTLY_WEBHOOK_SECRET"),
        (Sender.INCIDENTIO, "incident.io", settings.incidentio.webhook_secret, "HINDSIGHT_INCIDENTIO_WEBHOOK_SECRET"),
    )
    return [
        IntegrationStatus(key=f"intake-{sender}", name=f"{name} (incidents in)", on=bool(secret),
                          off_hint=f"Set {variable} to the webhook's signing secret.",
                          last_label="Last event received", last_at=last.get(str(sender)))
        for sender, name, secret, variable in senders
    ]


def integrations(session: Session, *, settings: Settings) -> list[IntegrationStatus]:
    """Every integration, in the order the page shows them."""
    return [
        _jira(session, settings), _confluence(session, settings), _mail(session, settings),
        _chat(session, settings, ChatChannelName.SLACK), _chat(session, settings, ChatChannelName.TEAMS),
        *intake_status(session, settings=settings),
    ]


def _jira(session: Session, settings: Settings) -> IntegrationStatus:
    last = session.scalar(select(func.max(ActionItem.synced_at)))
    failing = session.scalar(
        select(JiraOutbox).where(JiraOutbox.last_error.is_not(None)).order_by(JiraOutbox.updated_at.desc()).limit(1)
    )
    error = None
    if failing is not None and failing.last_error:
        match = JIRA_KIND.match(failing.last_error)
        error = jira_failure_in_words(match["kind"] if match else None)
    return IntegrationStatus(
        key="jira", name="Jira", on=settings.jira.enabled, off_hint="Set HINDSIGHT_JIRA_URL and HINDSIGHT_JIRA_PROJECT.",
        last_label="Last sync", last_at=last, error=error, error_at=failing.updated_at if failing is not None else None,
        waiting=session.scalar(select(func.count(JiraOutbox.id))) or 0,
    )


def _confluence(session: Session, settings: Settings) -> IntegrationStatus:
    last = session.scalar(select(func.max(DocumentPublication.published_at)))
    failed = session.scalar(
        select(DocumentPublication).where(DocumentPublication.status == "failed")
        .order_by(DocumentPublication.last_attempt_at.desc()).limit(1)
    )
    return IntegrationStatus(
        key="confluence", name="Confluence", on=settings.confluence.enabled,
        off_hint="Set HINDSIGHT_CONFLUENCE_URL and HINDSIGHT_CONFLUENCE_SPACE.", last_label="Last publish", last_at=last,
        error="The last publish to Confluence failed; the retro's document page says more and can publish again."
        if failed is not None else None,
        error_at=failed.last_attempt_at if failed is not None else None,
    )


def _mail(session: Session, settings: Settings) -> IntegrationStatus:
    last = max(
        (at for at in (session.scalar(select(func.max(EmailOutbox.sent_at))),
                       session.scalar(select(func.max(ReminderLog.sent_at)))) if at is not None),
        default=None,
    )
    waiting = session.scalar(
        select(func.count(EmailOutbox.id)).where(EmailOutbox.status == "pending", EmailOutbox.attempts > 0)
    ) or 0
    failed_digests = session.scalar(select(func.count(ReminderLog.id)).where(ReminderLog.status == "failed")) or 0
    error_at = session.scalar(
        select(func.max(EmailOutbox.last_attempt_at)).where(EmailOutbox.status == "pending", EmailOutbox.attempts > 0)
    )
    error = None
    if waiting or failed_digests:
        error = (f"The mail server has not taken {waiting + failed_digests} "
                 f"email{'s' if waiting + failed_digests != 1 else ''} yet; Hindsight keeps trying.")
    return IntegrationStatus(
        key="mail", name="Email (SMTP)", on=settings.smtp.enabled, off_hint="Set HINDSIGHT_SMTP_HOST.",
        last_label="Last email sent", last_at=last, error=error, error_at=error_at, waiting=waiting + failed_digests,
    )


def _chat(session: Session, settings: Settings, channel: ChatChannelName) -> IntegrationStatus:
    on = settings.slack.enabled if channel == ChatChannelName.SLACK else settings.teams.enabled
    hint = ("Set HINDSIGHT_SLACK_WEBHOOK_URL, or HINDSIGHT_SLACK_BOT_TOKEN and HINDSIGHT_SLACK_CHANNEL."
            if channel == ChatChannelName.SLACK else "Set HINDSIGHT_TEAMS_WEBHOOK_URL.")
    last = session.scalar(select(func.max(ChatOutbox.sent_at)).where(ChatOutbox.channel == channel.value))
    failing = session.scalar(
        select(ChatOutbox).where(ChatOutbox.channel == channel.value, ChatOutbox.error_kind.is_not(None),
                                 ChatOutbox.status != ChatStatus.SENT)
        .order_by(ChatOutbox.last_attempt_at.desc(), ChatOutbox.id.desc()).limit(1)
    )
    waiting = session.scalar(
        select(func.count(ChatOutbox.id)).where(ChatOutbox.channel == channel.value,
                                                ChatOutbox.status.in_([ChatStatus.PENDING, ChatStatus.SENDING]))
    ) or 0
    error = None
    if failing is not None:
        refused = "refused" in (failing.last_error or "").lower()
        error = failure_in_words(failing.error_kind, channel=channel.value, refused=refused)
        if failing.status == ChatStatus.GIVEN_UP:
            error += " That message was given up."
    return IntegrationStatus(
        key=channel.value, name=channel_name(channel.value), on=on, off_hint=hint, last_label="Last message sent",
        last_at=last, error=error, error_at=failing.last_attempt_at if failing is not None else None, waiting=waiting,
        can_test=on,
    )
