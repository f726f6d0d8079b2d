"""Who is making the request: a Bearer token or a signed-in session.

The signed Flask cookie holds only a random session token; the session itself (`user_sessions`)
is on the server, so signing out, signing out everywhere, timeouts and disabling a user end it
for every copy of the cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, g, request, session as cookie
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError

from app.auth import audit, limiter
from app.auth.models import AuditEvent, AuditKind, TokenScope, User, UserSession
from app.auth.service import (
    SessionEnd, TokenRefusal, check_session, check_token, end_all_sessions, end_session, find_user, start_session,
)
from app.core.errors import Forbidden, HindsightError, InsufficientScope, TooManyAttempts, Unauthorized
from app.db import commit, get_session, utcnow
from app.extensions import settings
from integrations.oidc import OidcClient, OidcConfig

log = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# What a read-scoped token may send.
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_KEY = "sid"
CLOCK_KEY = "hindsight.auth.clock"
OIDC_KEY = "hindsight.auth.oidc"

SESSION_ENDED_MESSAGES = {
    SessionEnd.REVOKED: "You were signed out; sign in again.",
    SessionEnd.EXPIRED: "Your session has expired; sign in again.",
    SessionEnd.IDLE: "Your session ended after a while without activity; sign in again.",
    SessionEnd.USER_DISABLED: "This account is disabled; ask an administrator to enable it.",
    SessionEnd.UNKNOWN: "Your session has ended; sign in again.",
}


def current_user() -> User | None:
    return g.get("user")


def token_scope() -> TokenScope | None:
    """The scope of this request's API token (None for sessions and signed-out visitors)."""
    return g.get("token_scope")


def acts_as_admin() -> bool:
    """Whether this request may do what only admins may: an admin, signed in or with an admin-scoped token."""
    user = current_user()
    return user is not None and user.is_admin and token_scope() in (None, TokenScope.ADMIN)


def admins_only(message: str = "Only admins can see this page.") -> None:
    """Forbidden `admin_only` unless this request `acts_as_admin`: the guard of the admin pages."""
    if not acts_as_admin():
        raise Forbidden(message, code="admin_only")


def current_session() -> UserSession | None:
    """The signed-in session of this request (None for Bearer tokens and signed-out visitors)."""
    return g.get("user_session")


def now() -> datetime:
    """The time sessions, tokens and the sign-in limiter go by: the app's clock (UTC)."""
    return current_app.extensions[CLOCK_KEY]()


def set_clock(app: Flask, clock: Callable[[], datetime]) -> None:
    """Make `app` read the time from `clock` (timezone-aware), e.g. to test timeouts without waiting."""
    app.extensions[CLOCK_KEY] = clock


def client_address() -> str:
    """The client's address: the connecting one, or X-Forwarded-For's as `trusted_proxy_hops` proxies set it."""
    hops = settings().auth.trusted_proxy_hops
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:limiter.ADDRESS_LENGTH]
    return (request.remote_addr or "unknown")[:limiter.ADDRESS_LENGTH]


def init_app(app: Flask) -> None:
    app.extensions.setdefault(CLOCK_KEY, utcnow)
    # The cookie lives as long as the server lets the session live; the server decides when it ends.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings(app).auth.session_max_hours)
    app.before_request(_authenticate)
    oidc = settings(app).oidc
    if oidc.enabled:
        app.extensions[OIDC_KEY] = OidcClient(app, OidcConfig(
            issuer=oidc.issuer, client_id=oidc.client_id, client_secret=oidc.client_secret, scopes=oidc.scopes,
            groups_claim=oidc.groups_claim, connect_timeout_seconds=oidc.connect_timeout_seconds,
            read_timeout_seconds=oidc.read_timeout_seconds, metadata_cache_seconds=oidc.metadata_cache_minutes * 60,
        ))


def oidc_client() -> OidcClient | None:
    """The OpenID Connect provider of this app; None when single sign-on is off."""
    return current_app.extensions.get(OIDC_KEY)


def record(session: Session, kind: AuditKind, *, subject: str | None = None, detail: str | None = None,
           actor: User | None = None) -> AuditEvent:
    """Add a line to the audit log, in the request's transaction: by `actor` (the signed-in user by
    default), from the client's address, at the app's clock."""
    return audit.record(session, kind=kind, at=now(), actor=actor or current_user(), address=client_address(),
                        subject=subject, detail=detail)


def record_failed_sign_in(session: Session, *, email: str, reason: str | None = None, via: str = "a password") -> AuditEvent:
    """Audit a refused sign-in: the account tried (by name, or the email typed when it is unknown) and why.

    Every sign-in path calls this when it refuses someone (`via` names the path: "a password",
    "single sign-on"); `sign_in` records the successful ones itself. Without a `reason`, it is
    "wrong password" for a known account and "unknown email" for the others.
    """
    user = find_user(session, email=email) if email.strip() else None
    if reason is None:
        reason = "wrong password" if user is not None else "unknown email"
    return audit.record(
        session, kind=AuditKind.SIGN_IN_FAILED, at=now(), actor=user,
        actor_name=None if user else limiter.normalise_email(email) or "(no email typed)",
        address=client_address(), detail=f"with {via}: {reason}",
    )


def sign_in(session: Session, *, user: User, via: str = "a password") -> None:
    """Start a new session for `user` in this browser (the one it had, if any, ends) and audit it.

    The cookie's token is new at every sign-in, so a cookie from before it signs no one in. `via`
    names the sign-in path in the audit log ("a password", "single sign-on").
    """
    at = now()
    previous = current_session()
    if previous is not None:
        end_session(session, row=previous, now=at)
    token = start_session(
        session, user=user, now=at, settings=settings().auth, ip=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )
    cookie.clear()
    cookie[SESSION_KEY] = token
    cookie.permanent = True
    audit.record(session, kind=AuditKind.SIGN_IN, at=at, actor=user, address=client_address(), detail=f"with {via}")


def sign_out(session: Session, *, everywhere: bool = False) -> int:
    """End this browser's session (or every session of its user) and audit it; returns how many ended."""
    at = now()
    ended = 0
    row = current_session()
    if row is not None:
        if everywhere:
            ended = end_all_sessions(session, user=row.user, now=at)
        else:
            end_session(session, row=row, now=at)
            ended = 1
        audit.record(session, kind=AuditKind.SIGN_OUT_EVERYWHERE if everywhere else AuditKind.SIGN_OUT, at=at,
                     actor=row.user, address=client_address(),
                     detail=f"{ended} session{'s' if ended != 1 else ''} ended" if everywhere else None)
    cookie.clear()
    return ended


def _authenticate() -> None:
    """Find who makes the request, before its view runs: the request's first edge.

    What this step records (a session's or a token's last use, a failed token guess) is
    committed here, before the view's own transaction, and kept when the request is refused.
    """
    try:
        recorded = _load_user()
    except HindsightError:
        if "db_session" in g:
            commit(get_session())
        raise
    if recorded:
        commit(get_session())


def _load_user() -> bool:
    """Set g.user and g.user_session; returns whether it recorded anything in the request's session."""
    g.user = None
    g.user_session = None
    g.token_scope = None
    header = request.headers.get("Authorization", "")
    if header:
        return _load_token_user(header)
    recorded = _load_session_user()
    # API calls made by our own pages with the session cookie must carry the CSRF token.
    if g.user is not None and request.path.startswith("/api/") and request.method in UNSAFE_METHODS:
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except (ValidationError, CSRFError):
            raise Forbidden(
                "Requests signed in by cookie must send the X-CSRFToken header.", code="csrf_failed"
            ) from None
    return recorded


def _load_token_user(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer TOKEN'.")
    session = get_session()
    at = now()
    result = check_token(session, token.strip(), now=at)
    if result.user is not None and result.row is not None:
        g.user = result.user
        g.token_scope = TokenScope(result.row.scope)
        if g.token_scope == TokenScope.READ and request.method not in READ_METHODS:
            raise InsufficientScope(required=TokenScope.WRITE, held=g.token_scope, doing=request.method)
        return result.touched
    if result.refusal is TokenRefusal.REVOKED:
        raise Unauthorized("The API token was revoked.", code="invalid_token")
    if result.refusal is TokenRefusal.EXPIRED:
        raise Unauthorized("The API token has expired; create a new one.", code="invalid_token")
    if result.refusal is TokenRefusal.USER_DISABLED:
        raise Unauthorized("The user of this API token is disabled.", code="user_disabled")
    # An unknown token counts against the client's address, like a wrong password. A valid
    # token is not refused while the address is locked out: tokens are 256-bit random values,
    # so the limit is there against floods of guesses, and a neighbour behind the same NAT
    # must not be able to lock everyone's scripts out.
    auth_settings = settings().auth
    address = client_address()
    wait = limiter.retry_after(session, settings=auth_settings, address=address, now=at)
    if wait:
        log.warning("unknown API token from %s refused: address locked out for %ss", address, wait)
        raise TooManyAttempts(
            f"Too many failed attempts from this address. Try again in {wait} seconds.", retry_after=wait
        )
    limiter.record_failure(session, settings=auth_settings, kind="token", address=address, now=at)
    log.warning("unknown API token from %s", address)
    raise Unauthorized("The API token is unknown or revoked.", code="invalid_token")


def _load_session_user() -> bool:
    # Cookies from before server-side sessions named the user directly: they sign no one in now.
    cookie.pop("user_id", None)
    token = cookie.get(SESSION_KEY)
    if not token:
        return False
    session = get_session()
    result = check_session(session, str(token), now=now(), settings=settings().auth)
    if result.row is None:
        cookie.pop(SESSION_KEY, None)
        if not request.path.startswith("/api/") and result.ended is not None:
            flash(SESSION_ENDED_MESSAGES[result.ended])
        return False
    g.user = result.row.user
    g.user_session = result.row
    return result.touched
