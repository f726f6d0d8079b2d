"""HTML pages of the actions domain: the board of the items you may see, and one item to read and change.

The forms post to these routes and go the API's way (the same flows, so the history and the Jira
push follow); a refusal shows the form again with what was typed (422), a success redirects.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from app.actions import board_pages, flows, forms, service
from app.actions.board import BoardQuery
from app.actions.schemas import ActionItemSplit, ActionItemUpdate
from app.actions.wording import refusal, run_in_words
from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_today
from app.core.errors import HindsightError, ValidationFailed
from app.core.pages import page
from app.db import get_session
from app.extensions import settings
from app.people.service import find_person
from app.reminders import flows as reminders
from app.reminders.schemas import SnoozeCreate

bp = Blueprint("actions_pages", __name__)


@bp.get("/action-items")
@page
@login_required
def items():
    """The board: the items the user may see, overdue first, narrowed and sorted by what the URL's query says.

    `edit=<id>` draws that row's forms open: a row's "Change" link without JavaScript (board.js opens them in place).
    """
    return board_pages.show(BoardQuery.from_args(request.args), editing=board_pages.row_to_edit(request.args))


# The board's forms (app/actions/board_pages.py), on this blueprint.
bp.add_url_rule("/action-items/<int:item_id>/board", "board_change", board_pages.change, methods=["POST"])
bp.add_url_rule("/action-items/<int:item_id>/board/snooze", "board_snooze", board_pages.snooze, methods=["POST"])
bp.add_url_rule("/action-items/<int:item_id>/board/sync", "board_retry", board_pages.retry, methods=["POST"])
bp.add_url_rule("/action-items/bulk-status", "bulk_status", board_pages.bulk_status, methods=["POST"])


@bp.post("/action-items/sync-jira")
@page
@login_required
def sync_jira():
    """Admins: the whole Jira sync now (every pending push, backoff ignored, then a pull); the outcome in words."""
    session = get_session()
    try:
        run = flows.sync_now(session, actor=g.user, settings=settings())
    except HindsightError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        flash(refusal(exc, form_fields=()).message, "error")
    else:
        category, text = run_in_words(run)
        flash(text, category)
    return redirect(url_for("actions_pages.items"))


@bp.get("/action-items/<int:item_id>")
@page
@login_required
def item(item_id: int):
    """One action item: its facts, the forms that change it, its Jira state and its whole history."""
    session = get_session()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    return forms.item_page(session, found, viewer=g.user, settings=settings())


def _back(item_id: int, anchor: str | None = None) -> Response:
    return redirect(url_for("actions_pages.item", item_id=item_id, _anchor=anchor))


def _refused(exc: HindsightError, *, item_id: int, form: str, values: dict[str, str], fields: tuple[str, ...],
             loaded: dict[str, str] | None = None, **facts: object) -> tuple[str, int]:
    """The page again after a refusal, nothing of the attempt kept, what was typed shown."""
    session = get_session()
    session.rollback()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    owner = find_person(session, values["owner"]) if values.get("owner") else None
    said = refusal(exc, form_fields=fields, owner_name=owner.name or owner.email if owner else None, **facts)
    status = 403 if exc.status == 403 else 422
    return forms.item_page(session, found, viewer=g.user, settings=settings(), error=said, form=form, values=values,
                           loaded=loaded), status


@bp.post("/action-items/<int:item_id>")
@page
@login_required
def edit(item_id: int):
    """Change title, owner, due date, status or priority: only the fields changed from what the form showed."""
    session = get_session()
    config = settings()
    found = service.get_item(session, viewer=g.user, item_id=item_id, for_update=True)
    current = forms.edit_form_of(found)
    loaded = {name: request.form.get(f"loaded_{name}", current[name]) for name in forms.EDIT_FIELDS}
    values = {name: request.form.get(name, loaded[name]).strip() for name in forms.EDIT_FIELDS}
    body = forms.edit_changes(loaded, values)
    if not body:
        flash("Nothing changed.")
        return _back(item_id)
    try:
        data = validate(ActionItemUpdate, body)
        flows.update_item(session, item=found, data=data, actor=g.user, via="web", settings=config)
    except HindsightError as exc:
        if forms.not_the_item(exc):
            raise
        return _refused(exc, item_id=item_id, form="edit", values=values, loaded=loaded,
                        fields=forms.EDIT_FIELDS)
    flash("Saved.")
    if "due_date" in body:
        for note in forms.due_date_notes(found, config):
            flash(note, "warning")
    return _back(item_id)


@bp.post("/action-items/<int:item_id>/snooze")
@page
@login_required
def snooze(item_id: int):
    """Snooze the item's reminders until a day, with a reason (its owner or an admin), as the API does."""
    session = get_session()
    config = settings()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    values = {name: request.form.get(name, "").strip() for name in ("until", "reason")}
    try:
        data = validate(SnoozeCreate, values)
        reminders.snooze_item(session, viewer=g.user, item_id=found.id, until=data.until, reason=data.reason,
                              settings=config, via="web")
    except HindsightError as exc:
        if forms.not_the_item(exc):
            raise
        return _refused(exc, item_id=item_id, form="snooze", values=values, fields=("until", "reason"),
                        notes=forms.snooze_notes(config, org_today(config)))
    flash(f"Reminders snoozed until {forms.when_for(config)(data.until)}.")
    return _back(item_id, "reminders")


@bp.post("/action-items/<int:item_id>/snooze/end")
@page
@login_required
def wake(item_id: int):
    """End the item's snooze: reminders resume at once (its owner or an admin)."""
    session = get_session()
    service.get_item(session, viewer=g.user, item_id=item_id)
    try:
        reminders.end_snooze(session, viewer=g.user, item_id=item_id, via="web")
    except HindsightError as exc:
        if forms.not_the_item(exc):
            raise
        return _refused(exc, item_id=item_id, form="snooze", values={"until": "", "reason": ""}, fields=())
    flash("Reminders are back on.")
    return _back(item_id, "reminders")


@bp.post("/action-items/<int:item_id>/split")
@page
@login_required
def split(item_id: int):
    """Split the item into smaller ones (a title a line, one owner and due date), optionally closing it."""
    session = get_session()
    config = settings()
    found = service.get_item(session, viewer=g.user, item_id=item_id, for_update=True)
    values = {name: request.form.get(name, "").strip() for name in ("parts", "owner", "due_date")}
    values["close_original"] = "on" if request.form.get("close_original") == "on" else ""
    try:
        body = forms.split_body(values)
        if not body["items"]:
            raise ValidationFailed("No new items were given.", fields={"parts": "is required"})
        data = validate(ActionItemSplit, body)
        created, _warnings = flows.split_item(session, item=found, data=data, actor=g.user, via="web", settings=config)
    except HindsightError as exc:
        if forms.not_the_item(exc):
            raise
        return _refused(exc, item_id=item_id, form="split", values=values, fields=("parts", "owner", "due_date"))
    numbers = ", ".join(f"#{c.id}" for c in created)
    still = [c for c in created if c.oversized]
    if still:
        flash(f"Split into {numbers}, but {', '.join(f'#{c.id}' for c in still)} "
              f"{'is' if len(still) == 1 else 'are'} still due more than {config.action_items.max_weeks} weeks away: "
              "split again or pick an earlier date.", "warning")
    else:
        flash(f"Split into {numbers}.")
    return _back(item_id, "parts")


@bp.post("/action-items/<int:item_id>/sync")
@page
@login_required
def retry(item_id: int):
    """Push the item to Jira now ("Retry now"); the outcome in words, never the error's text."""
    session = get_session()
    config = settings()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    forms.retry_now(session, item=found, settings=config, label="")
    return _back(item_id, "jira")
