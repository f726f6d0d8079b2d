"""Sign in and out of the web pages; `login_required` keeps every other page to signed-in users."""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session as cookie, url_for

from app.auth import limiter
from app.auth.context import (
    client_address, current_session, now, oidc_client, record, record_failed_sign_in, sign_in, sign_out,
)
from app.auth.flows import user_for_identity
from app.auth.models import AuditKind
from app.auth.service import authenticate
from app.core.errors import Forbidden, NotFound
from app.core.pages import page
from app.db import call_outside, get_session
from app.extensions import settings
from integrations.oidc import OidcError, OidcFailure

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

WRONG_PASSWORD = "Unknown email or wrong password."
DISABLED = "This account is disabled; ask an administrator to enable it."
PASSWORD_OFF = "Sign-in with a password is turned off here; sign in with {provider}."
SSO = "single sign-on"  # the sign-in path, as the audit log names it
SSO_OFF = "Single sign-on is not set up here; sign in with your email and password."
NEXT_KEY = "login_next"  # where to go after signing in through the provider

# What went wrong with a sign-in through the provider, and what to do about it.
OIDC_FAILURES = {
    OidcFailure.UNREACHABLE: (502, "{provider} could not be reached or gave an answer Hindsight cannot use. "
                                   "Try again in a few minutes; if it keeps failing, tell your administrator."),
    OidcFailure.DENIED: (403, "{provider} did not sign you in to Hindsight. Sign in again, and allow Hindsight "
                              "to use your account when {provider} asks."),
    OidcFailure.STATE: (400, "This sign-in was already used, has expired, or was started in another browser. "
                             "Sign in again from this page."),
    OidcFailure.REFUSED: (502, "{provider} refused to complete the sign-in. Sign in again from this page."),
    OidcFailure.TOKEN: (401, "{provider} sent a sign-in that Hindsight could not verify, so you are not signed in. "
                             "Sign in again; if it keeps failing, tell your administrator."),
}
OIDC_REFUSALS = {
    "email_missing": "{provider} did not share an email address with Hindsight; ask your administrator to "
                     "release the email to Hindsight.",
    "email_unverified": "{provider} has not verified your email address yet. Verify it at {provider}, then "
                        "sign in again.",
    "domain_not_allowed": "Hindsight is open only to email addresses of {domains}; sign in with that account.",
    "group_not_allowed": "Your account is not in a group allowed to use Hindsight; ask your administrator to "
                         "add you.",
    "identity_too_long": "{provider} identifies your account with a value too long for Hindsight; tell your "
                         "administrator.",
    "linked_to_another_account": "The Hindsight user with this email signs in with another {provider} account; "
                                 "ask your administrator.",
    "user_disabled": DISABLED,
}
OIDC_REFUSED = "{provider} signed you in, but Hindsight may not let this account in; ask your administrator."


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send signed-out visitors to the sign-in page, then back."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("incident_pages.index")


@bp.route("/login", methods=["GET", "POST"])
@page
def login():
    """Show the sign-in form and sign the user in; failures are counted and rate-limited."""
    if request.method == "GET":
        return _login_page(None)
    if not settings().password_login:
        return _login_page(_sentence(PASSWORD_OFF.format(provider=settings().oidc.display_name)), 403)
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    session = get_session()
    auth_settings = settings().auth
    address = client_address()
    at = now()
    wait = limiter.retry_after(session, settings=auth_settings, address=address, email=email, now=at)
    if wait:
        log.warning("sign-in refused for %r from %s: locked out for %ss", limiter.normalise_email(email), address, wait)
        message = f"Too many failed sign-ins. Try again in {wait} seconds."
        return _login_page(message, 429, {"Retry-After": str(wait)})
    user = authenticate(session, email=email, password=password, hash_method=auth_settings.password_hash_method)
    if user is None:
        limiter.record_failure(session, settings=auth_settings, kind="password", email=email, address=address, now=at)
        record_failed_sign_in(session, email=email)
        log.warning("failed sign-in for %r from %s", limiter.normalise_email(email), address)
        return _login_page(WRONG_PASSWORD, 401)
    if user.is_disabled:
        log.warning("sign-in refused for disabled user %r from %s", user.email, address)
        record_failed_sign_in(session, email=email, reason="the account is disabled")
        return _login_page(DISABLED, 403)
    limiter.clear_failures(session, email=email)
    sign_in(session, user=user)
    return redirect(_safe_next(request.args.get("next")))


@bp.get("/login/oidc")
@page
def login_oidc():
    """Send the browser to the identity provider; it comes back to `login_oidc_callback`."""
    client = oidc_client()
    if client is None:
        raise NotFound(SSO_OFF)
    cookie[NEXT_KEY] = _safe_next(request.args.get("next"))
    redirect_uri = settings().base_url + url_for("auth.login_oidc_callback")
    try:
        return call_outside(get_session(), lambda: client.start(redirect_uri))
    except OidcError as exc:
        log.warning("single sign-on could not start: %s", exc)
        return _oidc_failure(exc)


@bp.get("/login/oidc/callback")
@page
def login_oidc_callback():
    """Finish the sign-in the provider answered: verify its ID token, then sign the user in."""
    client = oidc_client()
    if client is None:
        raise NotFound(SSO_OFF)
    session = get_session()
    address = client_address()
    # Failed callbacks count against the address as failed passwords do, so nobody can fill the audit log.
    wait = limiter.retry_after(session, settings=settings().auth, address=address, now=now())
    if wait:
        log.warning("single sign-on refused from %s: locked out for %ss", address, wait)
        return _login_page(f"Too many failed sign-ins. Try again in {wait} seconds.", 429, {"Retry-After": str(wait)})
    try:
        identity = call_outside(session, client.finish)
    except OidcError as exc:
        log.warning("single sign-on failed from %s: %s", address, exc)
        limiter.record_failure(session, settings=settings().auth, kind="oidc", address=address, now=now())
        if exc.failure != OidcFailure.STATE:  # an answer to no sign-in started here names no one: logged only
            record_failed_sign_in(session, email="", reason=_oidc_failure_words(exc), via=SSO)
        return _oidc_failure(exc)
    try:
        user, admin_change = user_for_identity(session, identity=identity, settings=settings().oidc)
    except Forbidden as exc:
        session.rollback()
        log.warning("single sign-on refused for %r from %s: %s", identity.email, address, exc.message)
        record_failed_sign_in(session, email=identity.email or "", reason=_refusal_words(exc.code), via=SSO)
        return _login_page(_refusal_words(exc.code), 403)
    target = cookie.pop(NEXT_KEY, None)
    if admin_change is not None:
        kind = AuditKind.ADMIN_GRANTED if admin_change else AuditKind.ADMIN_REMOVED
        record(session, kind, subject=user.person.name, actor=user,
               detail="by membership of the provider's admin groups at sign-in")
    sign_in(session, user=user, via=SSO)
    return redirect(_safe_next(target))


def _login_page(error: str | None, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    oidc = settings().oidc
    html = render_template(
        "pages/login.html", error=error, password_login=settings().password_login,
        provider=oidc.display_name if oidc.enabled else None,
        # A sign-in through the provider that failed keeps where it was going, for the next try.
        next=request.args.get("next") or cookie.get(NEXT_KEY),
    )
    return html, status, headers or {}


def _oidc_failure(exc: OidcError) -> Any:
    return _login_page(_oidc_failure_words(exc), OIDC_FAILURES[exc.failure][0])


def _oidc_failure_words(exc: OidcError) -> str:
    return _sentence(OIDC_FAILURES[exc.failure][1].format(provider=settings().oidc.display_name))


def _refusal_words(code: str) -> str:
    oidc = settings().oidc
    domains = " or ".join(oidc.allowed_domains)
    return _sentence(OIDC_REFUSALS.get(code, OIDC_REFUSED).format(provider=oidc.display_name, domains=domains))


def _sentence(text: str) -> str:
    # The provider's name may open the sentence, and "single sign-on" is lower-case.
    return text[:1].upper() + text[1:]


@bp.post("/logout")
@page
def logout():
    """Sign out: this session ends on the server, so no copy of its cookie works any more."""
    sign_out(get_session())
    flash("Signed out.")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
@page
def logout_everywhere():
    """Sign out of every browser this user is signed in on."""
    if current_session() is None:
        return redirect(url_for("auth.login"))
    ended = sign_out(get_session(), everywhere=True)
    flash(f"Signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).")
    return redirect(url_for("auth.login"))
