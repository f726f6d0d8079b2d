"""API token pages: everyone manages their own tokens (/account/tokens); admins see and revoke every
token and make tokens for any user (/admin/tokens). A new token is shown once, in the answer to the
form that made it: only its hash is kept."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from app.auth import service
from app.auth.context import acts_as_admin, admins_only, now, record
from app.auth.models import ApiToken, AuditKind, TokenScope, User
from app.auth.pages import login_required
from app.auth.wording import SCOPE_NAMES, SCOPE_WORDS, TOKEN_FIELD_HELP, token_label
from app.core.errors import HindsightError, ValidationFailed
from app.core.pages import page
from app.core.schemas import whole_number
from app.core.wording import PageError, in_words
from app.db import get_session

bp = Blueprint("token_pages", __name__)

# The expiries offered, in days ("" = never), the first the default.
EXPIRIES = {"90": "In 90 days", "30": "In 30 days", "7": "In 7 days", "365": "In a year", "": "Never"}


@bp.get("/account/tokens")
@page
@login_required
def mine():
    """The signed-in user's API tokens and the form that makes one."""
    return _page(admin_view=False)


@bp.post("/account/tokens")
@page
@login_required
def create_mine():
    """Make an API token for the signed-in user; its value is on this answer only."""
    return _create(owner=g.user, admin_view=False)


@bp.post("/account/tokens/<int:token_id>/revoke")
@page
@login_required
def revoke_mine(token_id: int):
    """Revoke one of the signed-in user's tokens (someone else's is not found)."""
    token = get_session().get(ApiToken, token_id)
    if token is None or token.user_id != g.user.id:
        abort(404)
    _revoke(token)
    return redirect(url_for("token_pages.mine"))


@bp.get("/admin/tokens")
@page
@login_required
def index():
    """Every API token, whoever's; for admins."""
    admins_only()
    return _page(admin_view=True)


@bp.post("/admin/tokens")
@page
@login_required
def create_for():
    """Make an API token for any enabled user (automation accounts cannot sign in to make their own)."""
    admins_only()
    session = get_session()
    user_id = (request.form.get("user") or "").strip()
    number = whole_number(user_id, low=0)
    owner = session.get(User, number) if number is not None else None
    if owner is None or owner.is_disabled:
        error = PageError(code="validation_error", message="Pick whom the token is for.",
                          fields={"user": "Pick an enabled user from the list."})
        return _page(admin_view=True, error=error, typed=_typed()), 422
    return _create(owner=owner, admin_view=True)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@page
@login_required
def revoke_any(token_id: int):
    """Revoke anyone's token; for admins."""
    admins_only()
    token = get_session().get(ApiToken, token_id)
    if token is None:
        abort(404)
    _revoke(token)
    return redirect(url_for("token_pages.index"))


def _typed() -> dict[str, str]:
    return {name: (request.form.get(name) or "").strip() for name in ("name", "scope", "expires", "user")}


def _create(*, owner: User, admin_view: bool):  # type: ignore[no-untyped-def]
    session = get_session()
    typed = _typed()
    at = now()
    try:
        if typed["expires"] not in EXPIRIES:
            fields = service.token_field_errors(name=typed["name"], scope=typed["scope"])
            raise ValidationFailed("Pick an expiry.", fields=fields | {"expires": "not one of those offered"})
        expires_at = at + timedelta(days=int(typed["expires"])) if typed["expires"] else None
        value = service.create_token(session, user=owner, name=typed["name"], scope=typed["scope"] or "-",
                                     expires_at=expires_at, now=at)
    except HindsightError as exc:
        session.rollback()
        said = in_words(exc)
        fields = {("expires" if name == "expires_at" else name): TOKEN_FIELD_HELP.get(name, "Check this field.")
                  for name in exc.fields}
        error = PageError(code=said.code, message=said.message, fields=fields)
        return _page(admin_view=admin_view, error=error, typed=typed), 422
    token = service.find_token(session, ref=value)
    record(session, AuditKind.TOKEN_CREATED, subject=token_label(token), detail=f"{SCOPE_NAMES[TokenScope(token.scope)]} scope")
    return _page(admin_view=admin_view, created=(token, value))


def _revoke(token: ApiToken) -> None:
    session = get_session()
    if service.revoke_token(session, token=token, now=now()):
        record(session, AuditKind.TOKEN_REVOKED, subject=token_label(token))
        flash(f"Revoked the token {token_label(token)}: it is refused from now on.")
    else:
        flash(f"The token {token_label(token)} was already revoked.")


def _page(*, admin_view: bool, error: PageError | None = None, typed: dict[str, str] | None = None,
          created: tuple[ApiToken, str] | None = None) -> str:
    session = get_session()
    tokens = service.list_tokens(session, user=None if admin_view else g.user)
    tokens.sort(key=lambda token: (token.revoked_at is not None, -token.id))
    may_admin = acts_as_admin()
    scopes = {scope: words for scope, words in SCOPE_WORDS.items() if scope != TokenScope.ADMIN or may_admin}
    users = [user for user in service.list_users(session) if not user.is_disabled] if admin_view else []
    return render_template(
        "pages/tokens.html", tokens=tokens, admin_view=admin_view, error=error, created=created,
        typed=typed or {"name": "", "scope": TokenScope.READ, "expires": "90", "user": str(g.user.id)},
        scopes=scopes, expiries=EXPIRIES, users=users, now=now(),
    )
