"""Failed sign-ins and unknown API tokens, counted per account and per client address.

The count lives in the database (`auth_failures`), so every gunicorn worker and every machine
sees the same one. Once an account (the email typed) or an address has `limit` failures within
the window, it is locked out for `lockout_seconds` after its latest failure, doubled by each
further failure and never longer than the window. Attempts refused while locked out are not
checked, so they are not counted either: only real failures make the wait grow.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.auth.models import AuthFailure
from config import AuthSettings

EMAIL_LENGTH = 320
ADDRESS_LENGTH = 64


def normalise_email(email: str) -> str:
    """The form an email is counted under: trimmed, lower-case, at most 320 characters."""
    return email.strip().lower()[:EMAIL_LENGTH]


def retry_after(
    session: Session, *, settings: AuthSettings, address: str, email: str | None = None, now: datetime
) -> int:
    """Seconds until this account and address may try again; 0 when neither is locked out."""
    since = now - timedelta(minutes=settings.failure_window_minutes)
    waits = [_wait(session, AuthFailure.address == address[:ADDRESS_LENGTH], since=since, now=now,
                   limit=settings.max_failures_per_address, settings=settings)]
    if email:
        waits.append(_wait(session, AuthFailure.email == normalise_email(email), since=since, now=now,
                           limit=settings.max_failures_per_account, settings=settings))
    return max(waits)


def _wait(session: Session, condition: ColumnElement[bool], *, since: datetime, now: datetime, limit: int,
          settings: AuthSettings) -> int:
    count, latest = session.execute(
        select(func.count(), func.max(AuthFailure.occurred_at)).where(condition, AuthFailure.occurred_at > since)
    ).one()
    if count < limit or latest is None:
        return 0
    window = settings.failure_window_minutes * 60
    lockout = min(settings.lockout_seconds * 2 ** min(count - limit, 32), window)
    remaining = (latest + timedelta(seconds=lockout) - now).total_seconds()
    return max(0, math.ceil(remaining))


def record_failure(
    session: Session, *, settings: AuthSettings, kind: str, address: str, email: str | None = None,
    now: datetime,
) -> None:
    """Count one failure, and forget those older than the window (the table stays small)."""
    since = now - timedelta(minutes=settings.failure_window_minutes)
    session.execute(delete(AuthFailure).where(AuthFailure.occurred_at <= since))
    session.add(AuthFailure(
        kind=kind, email=normalise_email(email) if email else None, address=address[:ADDRESS_LENGTH],
        occurred_at=now,
    ))
    session.flush()


def clear_failures(session: Session, *, email: str) -> None:
    """Forget an account's failures (after it signed in with the right password)."""
    session.execute(delete(AuthFailure).where(AuthFailure.email == normalise_email(email)))
