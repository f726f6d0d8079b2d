"""Sign in and out of the web pages; `login_required` keeps every other page to signed-in users."""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.auth import limiter
from app.auth.context import client_address, current_session, now, record_failed_sign_in, sign_in, sign_out
from app.auth.service import authenticate
from app.core.pages import page
from app.db import get_session
from app.extensions import settings

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

WRONG_PASSWORD = "Unknown email or wrong password."
DISABLED = "This account is disabled; ask an administrator to enable it."


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
        return render_template("pages/login.html", error=None)
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
        return render_template("pages/login.html", error=message), 429, {"Retry-After": str(wait)}
    user = authenticate(session, email=email, password=password, hash_method=auth_settings.password_hash_method)
    if user is None:
        limiter.record_failure(session, settings=auth_settings, kind="password", email=email, address=address, now=at)
        record_failed_sign_in(session, email=email)
        log.warning("failed sign-in for %r from %s", limiter.normalise_email(email), address)
        return render_template("pages/login.html", error=WRONG_PASSWORD), 401
    if user.is_disabled:
        log.warning("sign-in refused for disabled user %r from %s", user.email, address)
        record_failed_sign_in(session, email=email, reason="the account is disabled")
        return render_template("pages/login.html", error=DISABLED), 403
    limiter.clear_failures(session, email=email)
    sign_in(session, user=user)
    return redirect(_safe_next(request.args.get("next")))


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
