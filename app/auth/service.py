"""Users, passwords, sign-in sessions and API tokens."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, TokenScope, User, UserSession
from app.core.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from app.people.models import Person
from app.people.service import get_or_create_person
from config import AuthSettings

TOKEN_PREFIX = "hs_"
PREFIX_LENGTH = 10
# last_seen_at and last_used_at are written at most this often: on SQLite every write takes
# the database's one write lock, so a request that only reads must not write each time.
TOUCH_INTERVAL = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10
# Hashes to compare against when the email is unknown (one per hash method), so a failed
# sign-in takes as long for an unknown user as for a wrong password.
_DUMMY_HASHES: dict[str, str] = {}
DEFAULT_HASH_METHOD = AuthSettings().password_hash_method


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, email: str, name: str | None = None, password: str | None = None,
    is_admin: bool = False, hash_method: str = DEFAULT_HASH_METHOD,
) -> User:
    """Create a user (and their person if missing). Raises Conflict if the user exists.

    `hash_method` is the `auth.password_hash_method` setting (werkzeug's scrypt by default)."""
    person = get_or_create_person(session, email=email, name=name)
    if session.scalar(select(User).where(User.person_id == person.id)) is not None:
        raise Conflict(f"A user with email {person.email} already exists.", code="user_exists")
    user = User(person=person, is_admin=is_admin)
    if password is not None:
        set_password(user, password, hash_method=hash_method)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str, *, hash_method: str = DEFAULT_HASH_METHOD) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": f"must have at least {MIN_PASSWORD_LENGTH} characters"},
        )
    user.password_hash = generate_password_hash(password, method=hash_method)


def _dummy_hash(method: str) -> str:
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def authenticate(
    session: Session, *, email: str, password: str, hash_method: str = DEFAULT_HASH_METHOD
) -> User | None:
    """The user with this email and password, or None. A disabled user is returned too: check it.

    An unknown email is checked against a dummy hash made with `hash_method`, so it takes as long."""
    user = find_user(session, email=email)
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(hash_method), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def find_user(session: Session, *, email: str) -> User | None:
    """The user with this email (any case), or None."""
    return session.scalar(select(User).join(User.person).where(Person.email == email.strip().lower()))


def find_user_by_subject(session: Session, *, issuer: str, subject: str) -> User | None:
    """The user linked to this OpenID Connect account (the ID token's `iss` and `sub`), or None."""
    return session.scalar(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject))


def get_user(session: Session, *, email: str) -> User:
    """The user with this email; NotFound otherwise."""
    user = find_user(session, email=email)
    if user is None:
        raise NotFound(f"No user has the email {email.strip().lower()}.", code="user_not_found")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by their person's name."""
    return list(session.scalars(select(User).join(User.person).order_by(Person.name, User.id)))


def get_user_by_id(session: Session, user_id: int) -> User:
    """The user with this id; NotFound otherwise."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user has the id {user_id}.", code="user_not_found")
    return user


def _keep_an_admin(session: Session, *, leaving: User) -> None:
    """RuleViolation `last_admin` if no enabled admin but `leaving` would be left.

    The other admins' rows are locked (PostgreSQL), so two admins cannot demote each other at once."""
    others = session.scalars(
        select(User.id).where(User.is_admin.is_(True), User.disabled_at.is_(None), User.id != leaving.id)
        .with_for_update()
    ).all()
    if not others:
        raise RuleViolation(
            "This is the last enabled admin: make someone else an admin first.", code="last_admin",
        )


def set_admin(session: Session, *, user: User, is_admin: bool) -> bool:
    """Make `user` an admin or a member; False when they already were. Never leaves no enabled admin."""
    if user.is_admin == is_admin:
        return False
    if not is_admin and not user.is_disabled:
        _keep_an_admin(session, leaving=user)
    user.is_admin = is_admin
    session.flush()
    return True


def disable_user(session: Session, *, user: User, now: datetime) -> int:
    """Refuse the user's sign-ins, sessions and tokens from now on; returns how many sessions ended.

    Their sessions are revoked (enabling the user again does not revive them); their tokens are
    kept and refused while the user is disabled. RuleViolation `last_admin` for the last enabled admin.
    """
    if user.is_admin and not user.is_disabled:
        _keep_an_admin(session, leaving=user)
    if user.disabled_at is None:
        user.disabled_at = now
    ended = end_all_sessions(session, user=user, now=now)
    session.flush()
    return ended


def enable_user(session: Session, *, user: User) -> None:
    """Let a disabled user sign in and use their tokens again."""
    user.disabled_at = None
    session.flush()


# Tokens


DEFAULT_TOKEN_NAME = "Command line"
TOKEN_NAME_LENGTH = 100


def full_scope(user: User) -> TokenScope:
    """The scope that gives a token all its user's power: admin for admins, write for the others."""
    return TokenScope.ADMIN if user.is_admin else TokenScope.WRITE


def token_field_errors(
    *, name: str, scope: str, expires_at: datetime | None = None, now: datetime | None = None,
) -> dict[str, str]:
    """What is wrong with a new token's fields, by field (empty when nothing is)."""
    fields = {}
    name = " ".join(name.split())
    if not name:
        fields["name"] = "is required"
    elif len(name) > TOKEN_NAME_LENGTH:
        fields["name"] = f"must be at most {TOKEN_NAME_LENGTH} characters"
    if scope not in set(TokenScope):
        fields["scope"] = "must be read, write or admin"
    if expires_at is not None and now is not None and expires_at <= now:
        fields["expires_at"] = "must be in the future"
    return fields


def create_token(
    session: Session, *, user: User, name: str = DEFAULT_TOKEN_NAME, scope: TokenScope | str | None = None,
    expires_at: datetime | None = None, now: datetime | None = None,
) -> str:
    """A new API token for `user`; only its hash is stored, so this is the one time it is seen.

    `scope` None gives the user's full power (`full_scope`), as tokens had before scopes. Raises
    ValidationFailed naming `name`, `scope` or `expires_at`, and Forbidden `admin_scope` for an
    admin-scoped token of a user who is not an admin.
    """
    name = " ".join(name.split())
    if scope is None:
        scope = full_scope(user)
    fields = token_field_errors(name=name, scope=scope, expires_at=expires_at, now=now)
    if fields:
        raise ValidationFailed("The API token's " + ", ".join(fields) + " need another look.", fields=fields)
    if scope == TokenScope.ADMIN and not user.is_admin:
        raise Forbidden("Only an admin's token can have the admin scope.", code="admin_scope",
                        fields={"scope": "admin is only for admins' tokens"})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, name=name, scope=TokenScope(scope), expires_at=expires_at,
                         token_hash=hash_token(token), prefix=token[:PREFIX_LENGTH]))
    session.flush()
    return token


class TokenRefusal(enum.Enum):
    """Why a token that was sent is not accepted."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USER_DISABLED = "user_disabled"


@dataclass(frozen=True)
class TokenCheck:
    """The token's user and row, or why it was refused; `touched` when `last_used_at` was updated."""

    user: User | None
    refusal: TokenRefusal | None = None
    touched: bool = False
    row: ApiToken | None = None


def check_token(session: Session, token: str, *, now: datetime) -> TokenCheck:
    """The user a token belongs to, or why it is refused; notes its use at most once a minute."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return TokenCheck(None, TokenRefusal.UNKNOWN)
    if row.revoked_at is not None:
        return TokenCheck(None, TokenRefusal.REVOKED)
    if row.is_expired(now):
        return TokenCheck(None, TokenRefusal.EXPIRED)
    if row.user.is_disabled:
        return TokenCheck(None, TokenRefusal.USER_DISABLED)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
        session.flush()
        return TokenCheck(row.user, touched=True, row=row)
    return TokenCheck(row.user, row=row)


def list_tokens(session: Session, *, user: User | None = None) -> list[ApiToken]:
    """The user's tokens (everyone's when `user` is None), oldest first, revoked ones included."""
    query = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def find_token(session: Session, *, ref: str) -> ApiToken:
    """The token with this id, or the one whose printed prefix (or whole value) this is.

    Raises NotFound, or Conflict when a prefix fits several tokens.
    """
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        row = session.get(ApiToken, int(ref)) if int(ref) < 2**31 else None
        if row is None:
            raise NotFound(f"No API token has the id {ref}.", code="token_not_found")
        return row
    if len(ref) > PREFIX_LENGTH:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(ref)))
        if row is None:
            raise NotFound("No API token has that value.", code="token_not_found")
        return row
    rows = list(session.scalars(select(ApiToken).where(ApiToken.prefix == ref).order_by(ApiToken.id)))
    if not rows:
        raise NotFound(f"No API token has the id or prefix {ref!r}.", code="token_not_found")
    if len(rows) > 1:
        ids = ", ".join(str(row.id) for row in rows)
        raise Conflict(f"{len(rows)} API tokens have the prefix {ref}; give the id (one of {ids}).",
                       code="token_ambiguous")
    return rows[0]


def revoke_token(session: Session, *, token: ApiToken, now: datetime) -> bool:
    """Refuse this token from now on; False if it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    session.flush()
    return True


# Sessions


def start_session(
    session: Session, *, user: User, now: datetime, settings: AuthSettings, ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new signed-in session for `user`; returns the random token for the cookie (only its hash is kept).

    Also forgets the user's sessions old enough to have ended by the absolute timeout anyway.
    """
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at <= now - _max_age(settings)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(UserSession(
        user=user, token_hash=hash_token(token), created_at=now, last_seen_at=now,
        ip=(ip or None) and ip[:64], user_agent=(user_agent or None) and user_agent[:300],
    ))
    user.last_login_at = now
    session.flush()
    return token


class SessionEnd(enum.Enum):
    """Why a session cookie no longer signs anyone in."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    IDLE = "idle"
    USER_DISABLED = "user_disabled"


@dataclass(frozen=True)
class SessionCheck:
    """The live session, or why it ended; `touched` when `last_seen_at` was updated."""

    row: UserSession | None
    ended: SessionEnd | None = None
    touched: bool = False


def check_session(session: Session, token: str, *, now: datetime, settings: AuthSettings) -> SessionCheck:
    """The live session this cookie token names, or why it ended; notes activity at most once a minute."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if row is None:
        return SessionCheck(None, SessionEnd.UNKNOWN)
    if row.revoked_at is not None:
        return SessionCheck(None, SessionEnd.REVOKED)
    if now - row.created_at >= _max_age(settings):
        return SessionCheck(None, SessionEnd.EXPIRED)
    if now - row.last_seen_at >= timedelta(hours=settings.session_idle_hours):
        return SessionCheck(None, SessionEnd.IDLE)
    if row.user.is_disabled:
        return SessionCheck(None, SessionEnd.USER_DISABLED)
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.flush()
        return SessionCheck(row, touched=True)
    return SessionCheck(row)


def end_session(session: Session, *, row: UserSession, now: datetime) -> None:
    """Sign this session out: its cookie, or any copy of it, signs no one in any more."""
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()


def end_all_sessions(session: Session, *, user: User, now: datetime) -> int:
    """Sign the user out everywhere; returns how many sessions were still open (not signed out)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def _max_age(settings: AuthSettings) -> timedelta:
    return timedelta(hours=settings.session_max_hours)
