"""The app's side of mail: the mailer for the settings, email templates and the outbox.

Emails caused by a change (invitations, nudges) are written to the outbox in the
change's transaction, attempted right after its commit and retried by the
scheduler until SMTP takes them. Each delivery claims its rows first (status
`sending`, in an UPDATE that PostgreSQL lets only one process make, skipping rows
another one holds; SQLite serialises writers) and commits the claim before SMTP is
called (`app.db.call_outside`), so two processes never send the same row and no
transaction is held while the mail server answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.db import call_outside, then_in_own_session, utcnow
from app.incidents.models import Incident
from app.reminders.models import EmailOutbox
from config import Settings
from integrations.smtp import CalendarPart, Email, SmtpConfig, mail_on, send_all

log = logging.getLogger(__name__)

MAX_RETRY_MINUTES = 60
# An email claimed longer ago than this belongs to a process that died while sending: claimed again.
SEND_CLAIM = timedelta(minutes=10)
DELIVERY_BATCH = 200


def smtp_config(settings: Settings) -> SmtpConfig:
    smtp = settings.smtp
    return SmtpConfig(
        host=smtp.host, port=smtp.port, user=smtp.user, password=smtp.password,
        starttls=smtp.starttls, ssl=smtp.ssl, timeout=smtp.timeout_seconds,
    )


def mail_enabled(settings: Settings) -> bool:
    """Whether mail is on (SMTP configured); off is logged once."""
    return mail_on(smtp_config(settings))


def render(template: str, /, **context: Any) -> str:
    """Render templates/email/`template` (HTML ones autoescaped, by their extension)."""
    return current_app.jinja_env.get_template(f"email/{template}").render(**context)


def incident_label(incident: Incident) -> str:
    """How an email names an incident: a private one by its number only."""
    return f"private incident #{incident.id}" if incident.is_private else f"#{incident.id} {incident.title}"


def enqueue(
    session: Session, *, kind: str, recipient: str, subject: str, text: str, html: str | None = None,
    ics: str | None = None, ics_method: str | None = None, retrospective_id: int | None = None,
) -> EmailOutbox:
    """Record an email to send after commit."""
    row = EmailOutbox(
        kind=kind, recipient=recipient, subject=subject, text_body=text, html_body=html, ics=ics,
        ics_method=ics_method, retrospective_id=retrospective_id, status="pending", attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row


def deliver_after_commit(session: Session, ids: Sequence[int]) -> None:
    """Try to send these outbox rows once the caller's transaction has committed."""
    if not ids:
        return
    wanted = list(ids)
    settings = current_app.extensions["hindsight.settings"]
    then_in_own_session(session, lambda own: deliver_outbox(own, settings=settings, ids=wanted),
                        what=f"outbox emails {wanted}")


def deliver_outbox(
    session: Session, *, settings: Settings, ids: Iterable[int] | None = None, now: datetime | None = None,
    ignore_backoff: bool = False, limit: int = DELIVERY_BATCH,
) -> dict[str, int]:
    """Send pending outbox emails that are due (or the given ids); record each result on its row.

    Returns {"sent", "failed"}. Nothing is sent when mail is off.
    """
    now = now or utcnow()
    if not mail_enabled(settings):
        return {"sent": 0, "failed": 0}
    # Pending rows, and rows whose sender died mid-send (their claim has expired).
    claimable = or_(
        EmailOutbox.status == "pending",
        and_(EmailOutbox.status == "sending", EmailOutbox.last_attempt_at < now - SEND_CLAIM),
    )
    due = select(EmailOutbox.id).where(claimable)
    if ids is not None:
        due = due.where(EmailOutbox.id.in_(list(ids)))
    elif not ignore_backoff:
        due = due.where(EmailOutbox.next_attempt_at <= now)
    due = due.order_by(EmailOutbox.id).limit(limit).with_for_update(skip_locked=True)
    claimed = session.scalars(
        update(EmailOutbox)
        .where(EmailOutbox.id.in_(due.scalar_subquery()), claimable)
        .values(status="sending", attempts=EmailOutbox.attempts + 1, last_attempt_at=now)
        .returning(EmailOutbox.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return {"sent": 0, "failed": 0}
    rows = session.scalars(
        select(EmailOutbox).where(EmailOutbox.id.in_(claimed)).order_by(EmailOutbox.id)
        .execution_options(populate_existing=True)
    ).all()
    emails = [(row.id, _email_of(row)) for row in rows]
    config = smtp_config(settings)
    # The claims are committed before SMTP is called; the outcome is recorded below.
    refused = call_outside(
        session, lambda: send_all(config, settings.mail_from, emails, connections=min(settings.smtp.connections, len(rows)))
    )
    retry = float(settings.reminders.retry_minutes)
    for row in rows:
        error = refused.get(row.id)
        if error is None:
            row.status = "sent"
            row.sent_at = utcnow()
            row.last_error = None
            continue
        delay = min(retry * 2 ** max(row.attempts - 1, 0), MAX_RETRY_MINUTES)
        row.status = "pending"
        row.last_error = error.message
        row.next_attempt_at = now + timedelta(minutes=delay)
        log.warning("email %s (%s) to %s not sent: %s", row.id, row.kind, row.recipient, error.message)
    session.flush()
    return {"sent": len(rows) - len(refused), "failed": len(refused)}


def _email_of(row: EmailOutbox) -> Email:
    calendar = CalendarPart(ics=row.ics, method=row.ics_method or "REQUEST") if row.ics else None
    return Email(to=row.recipient, subject=row.subject, text=row.text_body, html=row.html_body, calendar=calendar)
