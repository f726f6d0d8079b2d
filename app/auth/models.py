"""Local user accounts, sign-in sessions, API tokens and the audit log; passwords and tokens are stored hashed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[Optional[datetime]]
    # A disabled user cannot sign in, and their sessions and tokens are refused.
    disabled_at: Mapped[Optional[datetime]]
    # The OpenID Connect account this user signs in with (the ID token's `iss` and `sub`), kept
    # so that a later change of email at the provider still finds them. None = not linked yet.
    oidc_issuer: Mapped[Optional[str]] = mapped_column(String(500))
    oidc_subject: Mapped[Optional[str]] = mapped_column(String(255))

    person: Mapped[Person] = relationship(lazy="joined")

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


class TokenScope(enum.StrEnum):
    """What an API token may do: read = GET only; write = any change but admin-only endpoints;
    admin = everything (only while its user is an admin)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8), default=TokenScope.WRITE)
    # SHA-256 of the token: tokens are long random strings, so a fast hash is enough
    # and lets a request find its token with one indexed lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    # None = never expires.
    expires_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(lazy="joined")

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class UserSession(Base):
    """A signed-in browser: the signed cookie holds a random token, this row only its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")


class AuthFailure(Base):
    """One failed sign-in or unknown API token, counted by the limiter per email and per address.

    Rows older than the limiter's window are pruned as new ones arrive.
    """

    __tablename__ = "auth_failures"
    __table_args__ = (
        Index("ix_auth_failures_email_occurred_at", "email", "occurred_at"),
        Index("ix_auth_failures_address_occurred_at", "address", "occurred_at"),
        Index("ix_auth_failures_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "password" or "token"; the email typed (lower-cased) for passwords, none for tokens.
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]


class AuditKind(enum.StrEnum):
    """What an audit line records."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    ADMIN_GRANTED = "admin_granted"
    ADMIN_REMOVED = "admin_removed"
    PERSON_CHANGED = "person_changed"


class AuditEvent(Base):
    """One line of the audit log: a sign-in, a failed sign-in, a sign-out or an admin's change.

    `actor_name` and `subject` are kept as words as they were at the time, so the line still reads
    right after a rename; `actor_id` (kept while the user exists) is what the log is filtered by.
    Lines older than `audit.retention_days` are pruned by a scheduled job.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_actor_id_occurred_at", "actor_id", "occurred_at"),
        Index("ix_audit_events_kind_occurred_at", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor's name then; for a failed sign-in with an unknown email, the email typed.
    actor_name: Mapped[Optional[str]] = mapped_column(String(320))
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    detail: Mapped[Optional[str]] = mapped_column(String(500))
    address: Mapped[Optional[str]] = mapped_column(String(64))

    actor: Mapped[Optional[User]] = relationship(lazy="joined")
