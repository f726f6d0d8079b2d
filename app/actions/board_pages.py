"""The action-item board's page and its forms: a row's inline change, snooze and Jira retry, bulk status.

The views are registered on the actions pages' blueprint (`app.actions.pages`). Every form carries
the board's view (its query string) and returns to it; a change goes the API's way (the same
flows: the history row, the Jira push after the commit). A refusal shows the board again (422)
with the row's form open and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import partial
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.actions import board, flows, service
from app.actions.forms import not_the_item, retry_now, when_for
from app.actions.models import ActionStatus, SyncStatus
from app.actions.schemas import ActionItemUpdate
from app.actions.wording import refusal
from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_today
from app.core.errors import HindsightError, ValidationFailed
from app.core.pages import page
from app.core.schemas import whole_number
from app.core.templating import status_label
from app.core.wording import PageError
from app.db import get_session
from app.extensions import settings
from app.incidents.models import Severity
from app.reminders import flows as reminders
from app.reminders.schemas import SnoozeCreate
from app.services.service import catalogue_names

ROW_FIELDS = ("owner", "due_date", "status")
SORT_LABELS = {
    "overdue": "Overdue first, then due date", "due": "Due date, earliest first", "owner": "Owner, A to Z",
    "status": "Status", "severity": "Severity, worst first", "updated": "Last changed, newest first",
}
SCOPE_LABELS = {"all": "All I may see", "mine": "Mine", "incidents": "My incidents'"}
# Each status and its word, for the rows' status menus.
STATUS_WORDS = [(status.value, status_label(status.value)) for status in ActionStatus]
SYNC_LABELS = {"pending": "Waiting to be sent", "synced": "Up to date", "failed": "Failed to send", "off": "Not sent (Jira off)"}


def show(view: board.BoardQuery, *, error: PageError | None = None, editing: int | None = None,
         values: Mapping[str, str] | None = None, form: str | None = None, selected: set[int] | None = None) -> str:
    """The board for `view`; after a refusal, `form` ("row", "snooze", "bulk") is shown again with `values`."""
    session = get_session()
    config = settings()
    today = org_today(config)
    found = board.board_page(session, viewer=g.user, view=view, today=today, size=config.action_items.page_size)
    back = _query_string(view)
    when = when_for(config)
    services, teams = catalogue_names(session)
    return render_template(
        "pages/action_items.html", board=found, view=view, today=today, error=error, editing=editing,
        form=form, values=dict(values or {}), selected=selected or set(), back=back,
        statuses=list(ActionStatus), status_words=STATUS_WORDS, still_open=[s.value for s in ActionStatus.still_open()],
        severities=list(Severity), sync_states=list(SyncStatus),
        sync_labels=SYNC_LABELS, sort_labels=SORT_LABELS, scope_labels=SCOPE_LABELS,
        service_names=services, team_names=teams,
        people_options=people_options(board.people_names(session)),
        board_rows=partial(rows_html, found.rows, today=today, viewer=g.user, selected=selected or set(), editing=editing,
                           back=back, jira_base=config.jira.url.rstrip("/") if config.jira.url else None,
                           jira_enabled=config.jira.enabled, when=when),
        may_snooze=lambda row: may_snooze(row, g.user), may_sync=g.user.is_admin and config.jira.enabled,
        snooze_min=(today + timedelta(days=1)).isoformat(),
        snooze_max=(today + timedelta(days=config.reminders.max_snooze_days)).isoformat(),
        filters_in_words=filters_in_words(view, when=when),
        link=lambda **changes: url_for("actions_pages.items", **view.to_args(**changes)),
    )


def rows_html(rows: list[board.BoardRow], *, token: str, forms: str, today: date, viewer: Any, selected: set[int],
              editing: int | None, back: str, jira_base: str | None, jira_enabled: bool,
              when: Callable[[date], str]) -> Markup:
    """The board's rows, every value escaped; the row being changed (`editing`) holds `forms`, the page's
    macro for it, the others a "Change" link to the board with their forms drawn (?edit=<id>) whose data
    board.js builds them from. Written here rather than in the template because a Jinja loop over 50 rows
    cost several times the page's SQL (as the meeting page's timeline, app/retros/meeting.py)."""
    # html.escape (as Jinja escapes: & < > " ') gives plain strings, cheaper than Markup for each value;
    # ids, counts and ISO dates have nothing to escape.
    item_href = escape(url_for("actions_pages.item", item_id=0)[:-1])
    incident_href = escape(url_for("incident_pages.incident", incident_id=0)[:-1])
    edit_href = escape(url_for("actions_pages.items") + "?" + (back + "&" if back else "") + "edit=")
    view, token = escape(back), escape(token)
    jira_href = escape(jira_base) + "/browse/" if jira_base else None
    html = []
    for r in rows:
        n = r.id
        status, owner, still_open = escape(r.status), escape(r.owner_name or r.owner_email), r.still_open
        due = escape(when(r.due_date))
        if r.overdue:
            late = r.days_late(today)
            due += f' <span class="badge SEV0">overdue</span> <span class="muted">by {late:d} day{"" if late == 1 else "s"}</span>'
        if r.snoozed_until and r.snoozed_until >= today and still_open:
            due += f'<br><span class="muted snoozed">reminders snoozed until {escape(when(r.snoozed_until))}</span>'
        jira = ""
        if r.jira_key:
            key = escape(r.jira_key)
            jira = f'<a href="{jira_href}{key}" rel="noopener">{key}</a> ' if jira_href else f"{key} "
        if r.sync_status == "failed":
            jira += '<span class="badge SEV0">not sent</span>'
            if jira_enabled:
                jira += (f'\n<form method="post" action="{item_href}{n:d}/board/sync" class="inline">'
                         f'<input type="hidden" name="csrf_token" value="{token}"><input type="hidden" name="view" value="{view}">'
                         f'<button type="submit" class="secondary small">Retry now<span class="visually-hidden"> #{n:d}</span></button></form>')
        elif r.sync_status == "pending":
            jira += '<span class="muted">waiting to be sent</span>'
        if n == editing:
            change = forms
        else:
            snooze = " data-snooze" if may_snooze(r, viewer) else ""
            change = (f'<a href="{edit_href}{n:d}#change-{n:d}" class="row-change" data-owner="{owner}" '
                      f'data-due="{r.due_date.isoformat()}" data-status="{status}"{snooze}>Change'
                      f'<span class="visually-hidden"> #{n:d}</span></a>')
        overdue = ' class="overdue"' if r.overdue else ""
        checked = " checked" if n in selected else ""
        oversized = ' <span class="badge SEV1">oversized</span>' if r.oversized else ""
        private = ' <span class="badge private">private</span>' if r.private else ""
        severity = escape(r.severity)
        html.append(
            f'<tr id="item-{n:d}"{overdue} data-item="{n:d}">\n'
            f'<td data-label="Select"><input type="checkbox" form="bulk" name="ids" value="{n:d}" id="pick-{n:d}"{checked}>'
            f'<label class="visually-hidden" for="pick-{n:d}">Select #{n:d}</label>'
            f'<input type="hidden" form="bulk" name="seen_{n:d}" value="{status}"></td>\n'
            f'<td data-label="Item"><a href="{item_href}{n:d}">{escape(r.title)}</a> <span class="muted">#{n:d}</span>{oversized}</td>\n'
            f'<td data-label="Incident"><a href="{incident_href}{r.incident_id:d}">#{r.incident_id:d} {escape(r.incident_title)}</a>'
            f' <span class="badge {severity}">{severity}</span>{private}</td>\n'
            f'<td data-label="Owner" class="cell-owner"><span class="person" title="{escape(r.owner_email)}">{owner}</span></td>\n'
            f'<td data-label="Due" class="cell-due">{due}</td>\n'
            f'<td data-label="Status" class="cell-status">{escape(status_label(r.status))}</td>\n'
            f'<td data-label="Jira">{jira}</td>\n'
            f'<td data-label="Change" class="cell-change">{change}</td></tr>'
        )
    return Markup("\n".join(html))


def may_snooze(row: board.BoardRow, viewer: Any) -> bool:
    """Whether the board offers to snooze a row's reminders: still open, and the viewer its owner or an admin."""
    return row.still_open and (viewer.is_admin or viewer.person_id == row.owner_id)


def people_options(people: list[Any]) -> Markup:
    """The page's list of people to pick an owner from, as <option>s (escaped): some hundred people, one
    pass of Python rather than a Jinja loop, which cost as much as the rest of a short page."""
    return Markup("".join(f'<option value="{escape(p.name or p.email)}" data-email="{escape(p.email)}"></option>'
                          for p in people))


def row_to_edit(args: Mapping[str, str]) -> int | None:
    """The row whose forms a board address asks drawn open (`edit=<id>`); None when there is none or it is not a number."""
    return whole_number(args.get("edit"))


def filters_in_words(view: board.BoardQuery, *, when: Callable[[date], str]) -> list[str]:
    """The filters a view has on, each in words ("owner “Olivia”", "overdue only"), for the folded filter form."""
    said = []
    if view.q:
        said.append(f"title contains “{view.q}”")
    if view.owner:
        said.append(f"owner “{view.owner}”")
    if view.status:
        said.append(f"status {status_label(view.status)}")
    if view.severity:
        said.append(view.severity)
    if view.incident:
        said.append(f"incident #{view.incident}")
    if view.due_before:
        said.append(f"due before {when(view.due_before)}")
    if view.sync:
        said.append(f"Jira: {SYNC_LABELS[view.sync].lower()}")
    if view.service:
        said.append(f"service {view.service}")
    if view.team:
        said.append(f"team {view.team}")
    if view.overdue:
        said.append("overdue only")
    return said


def _query_string(view: board.BoardQuery) -> str:
    return urlencode(view.to_args())


def _view_of_form() -> board.BoardQuery:
    """The board view a form came from (its `view` field), read as a URL's query is: never a redirect elsewhere."""
    return board.BoardQuery.from_args(MultiDict(parse_qsl(request.form.get("view", ""))))


def _back(view: board.BoardQuery, item_id: int | None = None) -> Response:
    anchor = f"item-{item_id}" if item_id is not None else None
    return redirect(url_for("actions_pages.items", **view.to_args(), _anchor=anchor))


def _refused(exc: HindsightError, *, view: board.BoardQuery, item_id: int | None, form: str,
             values: Mapping[str, str], fields: tuple[str, ...], **facts: Any) -> tuple[str, int]:
    """The board again after a refusal: nothing of the attempt kept, what was typed shown."""
    get_session().rollback()
    said = refusal(exc, form_fields=fields, **facts)
    status = 403 if exc.status == 403 else 422
    return show(view, error=said, editing=item_id, values=values, form=form), status


@page
@login_required
def change(item_id: int):
    """A row's inline change of owner, due date or status: only the fields changed from what the row showed."""
    session = get_session()
    view = _view_of_form()
    item = service.get_item(session, viewer=g.user, item_id=item_id, for_update=True)
    values = {name: request.form.get(name, "").strip() for name in ROW_FIELDS}
    loaded = {name: request.form.get(f"loaded_{name}", "").strip() for name in ROW_FIELDS}
    body: dict[str, Any] = {name: values[name] for name in ("due_date", "status") if values[name] != loaded[name]}
    try:
        if values["owner"].lower() != loaded["owner"].lower():
            body["owner"] = board.find_owner(session, values["owner"]).email
        if not body:
            flash(f"Nothing changed on #{item_id}.")
            return _back(view, item_id)
        data = validate(ActionItemUpdate, body)
        flows.update_item(session, item=item, data=data, actor=g.user, via="web", settings=settings())
    except HindsightError as exc:
        if not_the_item(exc):
            raise
        return _refused(exc, view=view, item_id=item_id, form="row", values=values, fields=ROW_FIELDS,
                        owner_name=values["owner"])
    flash(f"Saved #{item_id} “{item.title}”.")
    if "due_date" in body and item.due_date < org_today(settings()) and item.status in ActionStatus.still_open():
        flash(f"The due date of #{item_id}, {when_for(settings())(item.due_date)}, is already past.", "warning")
    return _back(view, item_id)


@page
@login_required
def snooze(item_id: int):
    """Snooze a row's reminders until a day, with a reason (its owner or an admin), as the item page does."""
    session = get_session()
    config = settings()
    view = _view_of_form()
    service.get_item(session, viewer=g.user, item_id=item_id)
    values = {name: request.form.get(name, "").strip() for name in ("until", "reason")}
    try:
        data = validate(SnoozeCreate, values)
        reminders.snooze_item(session, viewer=g.user, item_id=item_id, until=data.until, reason=data.reason,
                              settings=config, via="web")
    except HindsightError as exc:
        if not_the_item(exc):
            raise
        latest = org_today(config) + timedelta(days=config.reminders.max_snooze_days)
        return _refused(exc, view=view, item_id=item_id, form="snooze", values=values, fields=("until", "reason"),
                        notes={"until": f"Pick a day after today, no later than {when_for(config)(latest)}."})
    flash(f"Reminders of #{item_id} snoozed until {when_for(config)(data.until)}.")
    return _back(view, item_id)


@page
@login_required
def retry(item_id: int):
    """A row's "Retry now": the item pushed to Jira at once; the outcome in words, back on the board."""
    session = get_session()
    config = settings()
    view = _view_of_form()
    item = service.get_item(session, viewer=g.user, item_id=item_id)
    retry_now(session, item=item, settings=config, label=f"#{item_id}: ")
    return _back(view, item_id)


def _selected_ids() -> list[int]:
    ids = [n for n in map(whole_number, request.form.getlist("ids")) if n is not None]
    if len(ids) != len(request.form.getlist("ids")):
        raise ValidationFailed("An item of the list is not one the board gave.", fields={"ids": "not an item"})
    return ids


def _set_statuses(session: Session, *, ids: list[int], target: str) -> tuple[list[str], list[str], list[str]]:
    """(changed, already so, refused) for each item, in words; refused ones changed since the board was read."""
    changed, same, refused = [], [], []
    for item in board.items_for_change(session, viewer=g.user, item_ids=ids):
        seen = request.form.get(f"seen_{item.id}")
        name = f"#{item.id} “{item.title}”"
        if seen and seen != item.status:
            refused.append(f"{name} was changed by someone else meanwhile (it is now {status_label(item.status)})")
        elif item.status == target:
            same.append(name)
        else:
            flows.update_item(session, item=item, data=ActionItemUpdate(status=target), actor=g.user, via="web",
                              settings=settings())
            changed.append(name)
    return changed, same, refused


@page
@login_required
def bulk_status():
    """Set the status of the selected items, in one transaction; the refused ones are named in words."""
    session = get_session()
    view = _view_of_form()
    target = request.form.get("status", "")
    try:
        ids = _selected_ids()
        if not ids:
            raise ValidationFailed("Select at least one item first.", code="nothing_selected",
                                   fields={"ids": "select at least one"})
        data = validate(ActionItemUpdate, {"status": target})
        changed, same, refused = _set_statuses(session, ids=ids, target=str(data.status))
    except HindsightError as exc:
        if not_the_item(exc):
            raise
        get_session().rollback()
        said = refusal(exc, form_fields=("status",))
        if exc.code == "nothing_selected":
            said = PageError(code=exc.code, message="Select at least one item first, with the boxes in the first column.")
        elif "status" in said.fields:
            said = PageError(code=said.code, message="Pick the status to set.", fields=said.fields)
        selected = {n for raw in request.form.getlist("ids") if (n := whole_number(raw, low=0)) is not None}
        return show(view, error=said, form="bulk", values={"status": target}, selected=selected), 422
    word = status_label(target)
    if changed:
        flash(f"Set {_count(len(changed), 'item')} to {word}.")
    if same:
        flash(f"Already {word}, left as {'it was' if len(same) == 1 else 'they were'}: {', '.join(same)}.", "warning")
    if refused:
        flash(f"Not changed: {'; '.join(refused)}. Check {'it' if len(refused) == 1 else 'them'} and try again.",
              "error")
    return _back(view)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
