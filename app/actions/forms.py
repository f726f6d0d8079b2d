"""The action-item page's forms: what each shows, what a post amounts to, and the page they are on.

A form sends only what the person changed from what it showed (`loaded_*` fields), so a field
someone else changed meanwhile is not put back. The bodies are the API's (`ActionItemUpdate`,
`ActionItemSplit`, `SnoozeCreate`), validated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from flask import flash, render_template
from sqlalchemy.orm import Session

from app.actions import flows, queries, service
from app.actions.models import ActionItem, ActionStatus, Priority, SyncStatus
from app.actions.sync import sync_view
from app.actions.wording import refusal, sync_in_words, sync_warning
from app.auth.models import User
from app.core.dates import org_now, org_today
from app.core.templating import when_text
from app.core.errors import HindsightError, NotFound
from app.core.wording import PageError
from app.people.service import find_person
from app.reminders.service import get_snooze
from app.services.service import service_names
from config import Settings

EDIT_FIELDS = ("title", "owner", "due_date", "status", "priority", "service")
MAX_PARTS = 20


def edit_form_of(item: ActionItem) -> dict[str, str]:
    """The edit form's values for the item as it is now."""
    return {
        "title": item.title, "owner": item.owner.email, "due_date": item.due_date.isoformat(),
        "status": str(item.status), "priority": str(item.priority), "service": item.service_name or "",
    }


def edit_changes(loaded: Mapping[str, str], form: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body the form amounts to: only the fields changed from what the form showed."""
    body: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        before, after = loaded[name], form[name]
        if (after.lower() != before.lower()) if name == "owner" else (after != before):
            body[name] = after
    if body.get("service") == "":
        body["service"] = None  # "No service": the item is filed against none
    return body


def split_form_of(item: ActionItem, settings: Settings) -> dict[str, str]:
    """The split form's first values: the same owner, due within the weeks an item may take."""
    latest = org_today(settings) + timedelta(weeks=settings.action_items.max_weeks)
    return {"parts": "", "owner": item.owner.email, "due_date": min(item.due_date, latest).isoformat(),
            "close_original": "on"}


def split_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The split request the form amounts to: one new item a non-empty line, all with the form's owner and date."""
    titles = [line.strip() for line in form["parts"].splitlines() if line.strip()]
    return {
        "items": [{"title": title, "owner": form["owner"], "due_date": form["due_date"]} for title in titles],
        "close_original": form.get("close_original") == "on",
    }


def when_for(settings: Settings):  # type: ignore[no-untyped-def]
    """`when` in words as the pages' filter says it, for sentences made in Python."""
    year = org_now(settings).year
    return lambda value, part="full": when_text(value, zone=settings.zone, current_year=year, part=part)


def due_date_notes(item: ActionItem, settings: Settings) -> list[str]:
    """What to say about an item's due date after a change: already past, or too far away to be one task."""
    say = when_for(settings)
    notes = []
    if item.due_date < org_today(settings) and item.status in ActionStatus.still_open():
        notes.append(f"The due date, {say(item.due_date)}, is already past.")
    if item.oversized:
        notes.append(f"#{item.id} is due more than {settings.action_items.max_weeks} weeks away: "
                     "split it into smaller items, each done sooner.")
    return notes


def jira_link(settings: Settings, key: str | None) -> str | None:
    if not key or not settings.jira.url:
        return None
    return f"{settings.jira.url.rstrip('/')}/browse/{key}"


def item_page(
    session: Session, item: ActionItem, *, viewer: User, settings: Settings, error: PageError | None = None,
    form: str | None = None, values: Mapping[str, str] | None = None, loaded: Mapping[str, str] | None = None,
) -> str:
    """The item page; `form` names the form shown again with what was typed (`values`) and the refusal."""
    changes = service.history(session, item=item)
    # Owner changes keep emails: the page shows the people by name.
    emails = {e for c in changes if c.field == "owner" for e in (c.old, c.new) if e}
    people = {email: find_person(session, email) for email in emails}
    view = sync_view(session, item=item)
    say = when_for(settings)
    today = org_today(settings)
    edit = dict(values) if form == "edit" and values is not None else edit_form_of(item)
    return render_template(
        "pages/action_item.html", item=item, changes=changes,
        people={e: p for e, p in people.items() if p is not None},
        max_weeks=settings.action_items.max_weeks, error=error, form=form,
        edit=edit, loaded=dict(loaded) if loaded is not None else edit_form_of(item),
        split=dict(values) if form == "split" and values is not None else split_form_of(item, settings),
        snooze_values=dict(values) if form == "snooze" and values is not None else {"until": "", "reason": ""},
        owners=queries.possible_owners(session, item=item), parts=queries.parts_of(session, item=item),
        snooze=get_snooze(session, item_id=item.id), may_snooze=bool(viewer.is_admin or viewer.person_id == item.owner_id),
        statuses=list(ActionStatus), priorities=list(Priority), service_names=service_names(session),
        sync=view, sync_words=sync_in_words(view, when=say), sync_note=sync_warning(view),
        jira_url=jira_link(settings, item.jira_key), jira_enabled=settings.jira.enabled,
        jira_base=settings.jira.url.rstrip("/") if settings.jira.url else None,
        snooze_min=(today + timedelta(days=1)).isoformat(),
        snooze_max=(today + timedelta(days=settings.reminders.max_snooze_days)).isoformat(),
        max_snooze_days=settings.reminders.max_snooze_days, open_statuses=ActionStatus.still_open(),
    )


def snooze_notes(settings: Settings, today: date) -> dict[str, str]:
    """The snooze form's note for a date it cannot take, with the bounds in words."""
    say = when_for(settings)
    latest = today + timedelta(days=settings.reminders.max_snooze_days)
    return {"until": f"Pick a day after today, no later than {say(latest)}."}


def not_the_item(exc: HindsightError) -> bool:
    """A 404 about the item itself (not visible, not there), as opposed to a refusal such as `not_snoozed`."""
    return isinstance(exc, NotFound) and exc.code == "not_found"


def retry_now(session: Session, *, item: ActionItem, settings: Settings, label: str) -> None:
    """"Retry now" for a page: push `item` to Jira at once and flash the outcome in words (`label` names
    the item in them: "" on its own page, "#8: " on the board); a 404 about the item is raised."""
    try:
        flows.retry_push(session, item=item, settings=settings)
    except HindsightError as exc:
        if not_the_item(exc):
            raise
        session.rollback()
        flash(label + refusal(exc, form_fields=()).message, "error")
        return
    state = sync_view(session, item=item)
    if state.status == SyncStatus.SYNCED:
        flash(f"{label[:-2]} pushed to Jira as {state.jira_key}." if label else f"Pushed to Jira as {state.jira_key}.")
    elif state.status == SyncStatus.FAILED:
        flash(label + sync_in_words(state, when=when_for(settings)), "error")
    else:
        flash(f"{label}Another push is under way; reload in a minute to see how it went.", "warning")
