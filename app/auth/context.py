"""Who is making the request: a Bearer token or a signed-in session."""

from __future__ import annotations

from flask import Flask, g, request, session as cookie
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from app.auth.models import User
from app.auth.service import user_for_token
from app.core.errors import Forbidden, Unauthorized
from app.db import get_session

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def current_user() -> User | None:
    return g.get("user")


def init_app(app: Flask) -> None:
    app.before_request(_load_user)


def _load_user() -> None:
    g.user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header must be 'Bearer TOKEN'.")
        user = user_for_token(get_session(), token.strip())
        if user is None:
            raise Unauthorized("The API token is unknown or revoked.", code="invalid_token")
        g.user = user
        return
    user_id = cookie.get("user_id")
    if user_id is None:
        return
    user = get_session().get(User, user_id)
    if user is None:
        cookie.clear()
        return
    g.user = user
    # API calls made by our own pages with the session cookie must carry the CSRF token.
    if request.path.startswith("/api/") and request.method in UNSAFE_METHODS:
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except (ValidationError, CSRFError):
            raise Forbidden(
                "Requests signed in by cookie must send the X-CSRFToken header.", code="csrf_failed"
            ) from None
