"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, User
from app.core.errors import Conflict, ValidationFailed
from app.db import utcnow
from app.people.service import get_or_create_person

TOKEN_PREFIX = "hs_"
MIN_PASSWORD_LENGTH = 10
# A hash to compare against when the email is unknown, so a failed sign-in takes
# as long for an unknown user as for a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, email: str, name: str | None = None, password: str | None = None,
    is_admin: bool = False,
) -> User:
    """Create a user (and their person if missing). Raises Conflict if the user exists."""
    person = get_or_create_person(session, email=email, name=name)
    if session.scalar(select(User).where(User.person_id == person.id)) is not None:
        raise Conflict(f"A user with email {person.email} already exists.", code="user_exists")
    user = User(person=person, is_admin=is_admin)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": f"must have at least {MIN_PASSWORD_LENGTH} characters"},
        )
    user.password_hash = generate_password_hash(password)


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user with this email and password, or None."""
    from app.people.models import Person

    user = session.scalar(select(User).join(User.person).where(Person.email == email.strip().lower()))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def create_token(session: Session, *, user: User) -> str:
    """A new API token for `user`; only its hash is stored, so this is the one time it is seen."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token), prefix=token[:10]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a valid, unrevoked token belongs to."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    row.last_used_at = utcnow()
    return row.user


def find_user(session: Session, *, email: str) -> User | None:
    from app.people.models import Person

    return session.scalar(select(User).join(User.person).where(Person.email == email.strip().lower()))
