"""The Users and Audit log admin pages: who may sign in and who is an admin; who did what, when, from where."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.auth import audit, service
from app.auth.context import admins_only, now, record
from app.auth.models import AuditKind
from app.auth.pages import login_required
from app.auth.wording import KIND_WORDS
from app.core.dates import day_end, day_start
from app.core.errors import RuleViolation
from app.core.pages import page
from app.core.schemas import whole_number
from app.core.wording import in_words
from app.db import get_session
from app.extensions import settings

bp = Blueprint("admin_pages", __name__)


@bp.get("/admin")
@page
@login_required
def index():
    """What an admin looks after, one link each: the navigation names only this page."""
    admins_only()
    return render_template("pages/admin_index.html")


@bp.get("/admin/users")
@page
@login_required
def users():
    """Every user: admin or not, enabled or not, last sign-in; for admins."""
    admins_only()
    return render_template("pages/admin_users.html", users=service.list_users(get_session()))


@bp.post("/admin/users/<int:user_id>/admin")
@page
@login_required
def set_admin(user_id: int):
    """Make a user an admin (`admin=yes`) or a member; never the last enabled admin a member."""
    admins_only()
    session = get_session()
    user = service.get_user_by_id(session, user_id)
    making = request.form.get("admin") == "yes"
    try:
        changed = service.set_admin(session, user=user, is_admin=making)
    except RuleViolation as exc:
        flash(in_words(exc).message, "error")
        return redirect(url_for("admin_pages.users"))
    name = user.person.name
    if changed:
        record(session, AuditKind.ADMIN_GRANTED if making else AuditKind.ADMIN_REMOVED, subject=name)
    flash(f"{name} is {'now an admin' if making else 'no longer an admin'}." if changed else f"Nothing changed for {name}.")
    return redirect(url_for("admin_pages.users"))


@bp.post("/admin/users/<int:user_id>/disable")
@page
@login_required
def disable(user_id: int):
    """Disable a user at once: their sessions end and their tokens are refused; never the last enabled admin."""
    admins_only()
    session = get_session()
    user = service.get_user_by_id(session, user_id)
    if user.is_disabled:
        flash(f"{user.person.name} was already disabled.")
        return redirect(url_for("admin_pages.users"))
    try:
        ended = service.disable_user(session, user=user, now=now())
    except RuleViolation as exc:
        flash(in_words(exc).message, "error")
        return redirect(url_for("admin_pages.users"))
    record(session, AuditKind.USER_DISABLED, subject=user.person.name,
           detail=f"{ended} session{'s' if ended != 1 else ''} ended")
    flash(f"Disabled {user.person.name}: signed out everywhere ({ended} session{'s' if ended != 1 else ''}), "
          "and their API tokens are refused until they are enabled again.")
    return redirect(url_for("admin_pages.users"))


@bp.post("/admin/users/<int:user_id>/enable")
@page
@login_required
def enable(user_id: int):
    """Let a disabled user sign in and use their tokens again."""
    admins_only()
    session = get_session()
    user = service.get_user_by_id(session, user_id)
    if not user.is_disabled:
        flash(f"{user.person.name} was not disabled.")
        return redirect(url_for("admin_pages.users"))
    service.enable_user(session, user=user)
    record(session, AuditKind.USER_ENABLED, subject=user.person.name)
    flash(f"Enabled {user.person.name}: they can sign in again.")
    return redirect(url_for("admin_pages.users"))


@bp.get("/admin/audit")
@page
@login_required
def audit_log():
    """The audit log, newest first, filtered by who, what and a period of days (in the organisation's zone)."""
    admins_only()
    session = get_session()
    config = settings()
    typed = {name: (request.args.get(name) or "").strip() for name in ("who", "kind", "since", "until")}
    notes: dict[str, str] = {}
    users = service.list_users(session)
    actor_id = None
    if typed["who"]:
        actor_id = next((user.id for user in users if str(user.id) == typed["who"]), None)
        if actor_id is None:
            notes["who"] = "Pick someone from the list."
    kind = None
    if typed["kind"]:
        kind = next((known for known in AuditKind if known.value == typed["kind"]), None)
        if kind is None:
            notes["kind"] = "Pick a kind from the list."
    since, until = _day(typed["since"], "since", notes), _day(typed["until"], "until", notes)
    if since and until and until < since:
        notes["until"] = "The last day comes before the first: swap them."
        until = None
    where = audit.AuditFilter(
        actor_id=actor_id, kind=kind, since=day_start(config, since) if since else None,
        until=day_end(config, until) if until else None,
    )
    found = audit.search(session, where=where, page=_page_number(request.args.get("page")))
    links = {name: value for name, value in typed.items() if value and name not in notes}
    return render_template(
        "pages/admin_audit.html", found=found, typed=typed, notes=notes, users=users, kinds=KIND_WORDS,
        links=links, retention_days=config.audit.retention_days,
    )


def _day(text: str, name: str, notes: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        if text.isascii():
            return date.fromisoformat(text)
    except ValueError:
        pass
    notes[name] = "Give a day, like 4 December 2026, with the date picker."
    return None


def _page_number(text: str | None) -> int:
    number = whole_number(text, low=0, high=999_999)
    return 1 if number is None else number
