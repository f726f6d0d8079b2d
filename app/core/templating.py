"""Jinja filters shared by the pages and emails, and the page furniture every page links to (the favicon).

Pages speak to people: a person is shown by name (the email only as a tooltip), a status in
words ("Won't do"), a moment in the organisation's time zone ("Fri 4 Dec, 15:52").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from flask import Flask, Response, send_from_directory, url_for
from markupsafe import Markup, escape

from app.core.dates import org_now

# Every status word of every domain (incidents, retros, action items, Jira sync, publications).
# A word missing here is still shown readably ("some_state" → "Some state").
STATUS_LABELS = {
    # incidents
    "investigating": "Investigating", "identified": "Identified", "contained": "Contained", "resolved": "Resolved",
    # retrospectives
    "pending": "Pending", "scheduled": "Scheduled", "completed": "Completed", "published": "Published",
    "withdrawn": "Withdrawn",
    # action items
    "open": "Open", "in_progress": "In progress", "done": "Done", "wont_do": "Won't do",
    # Jira sync and publishing
    "synced": "Synced", "failed": "Failed", "off": "Off", "publishing": "Publishing",
}

# The fields of an action item's history, and the ways a change came in.
FIELD_LABELS = {
    "created": "Created", "title": "Title", "description": "Description", "owner": "Owner", "due_date": "Due date",
    "status": "Status", "priority": "Priority", "jira_key": "Jira issue", "oversized": "Oversized",
    "snoozed_until": "Snoozed until", "split": "Split into",
}
VIA_LABELS = {"web": "Web page", "api": "API", "jira": "Jira", "system": "Automatic"}
_ITEM_REFERENCE = re.compile(r"#(\d{1,10})\b")

# What each part of `when` prints (the year is added when it is not the organisation's current year).
_PARTS = ("full", "day", "time")


def status_label(value: str | None) -> str:
    """A status word as people say it: "wont_do" → "Won't do"."""
    if not value:
        return ""
    return STATUS_LABELS.get(value, value.replace("_", " ").capitalize())


def field_label(value: str | None) -> str:
    """A history field as a heading: "due_date" → "Due date"."""
    if not value:
        return ""
    return FIELD_LABELS.get(value, value.replace("_", " ").capitalize())


def via_label(value: str | None) -> str:
    """How a change came in, in words."""
    if not value:
        return ""
    return VIA_LABELS.get(value, value.capitalize())


def item_links(text: str | None) -> Markup:
    """Text with each "#8" made a link to action item 8 (the rest escaped)."""
    if not text:
        return Markup("")
    parts: list[str] = []
    last = 0
    for match in _ITEM_REFERENCE.finditer(text):
        parts.append(escape(text[last:match.start()]))
        number = int(match.group(1))
        if number <= 2**31 - 1:
            href = url_for("actions_pages.item", item_id=number)
            parts.append(Markup('<a href="{href}">#{number}</a>').format(href=href, number=number))
        else:
            parts.append(escape(match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def scrolling_tables(html: Markup) -> Markup:
    """Safe HTML with each table in a keyboard-reachable box that scrolls sideways on a narrow screen.

    Only for HTML that is safe by construction (the exporter's): a "<table" typed by a user is
    escaped there, so only real tables match.
    """
    opened = str(html).replace(
        "<table", '<div class="table-scroll" role="region" tabindex="0" aria-label="Table, scrolls sideways"><table',
    )
    return Markup(opened.replace("</table>", "</table></div>"))


def person_html(person, fallback: str = "") -> Markup:  # type: ignore[no-untyped-def]
    """A person by name, the email in a tooltip; `fallback` (escaped) when there is nobody."""
    if person is None:
        return Markup(escape(fallback))
    return Markup('<span class="person" title="{email}">{name}</span>').format(
        email=person.email, name=person.name or person.email,
    )


def when_text(value: datetime | date | str | None, *, zone, current_year: int, part: str = "full") -> str:  # type: ignore[no-untyped-def]
    """A moment in `zone` in words: "Fri 4 Dec, 15:52"; a date: "Fri 4 Dec"; the year only when not current.

    An ISO string (as an action item's history keeps dates) is read first; one that is not a
    date is shown as it is.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if part not in _PARTS:
        raise ValueError(f"when: part must be one of {_PARTS}, not {part!r}")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        local = moment.astimezone(zone)
        day: date = local.date()
        clock = f"{local.hour:02d}:{local.minute:02d}"
    else:
        day, clock, part = value, "", "day"
    if part == "time":
        return clock
    words = f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"
    if day.year != current_year:
        words += f" {day.year}"
    return words if part == "day" else f"{words}, {clock}"


def init_app(app: Flask) -> None:
    settings = app.extensions["hindsight.settings"]
    zone = settings.zone

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        """A timestamp shown in the organisation's time zone (emails, which carry the zone name)."""
        if value is None:
            return ""
        return value.astimezone(zone).strftime(fmt)

    @app.template_filter("when")
    def when(value: datetime | date | str | None, part: str = "full") -> str:
        """A moment or date in words in the organisation's time zone; `part` is "full", "day" or "time"."""
        return when_text(value, zone=zone, current_year=org_now(settings).year, part=part)

    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(person_html, "person")
    app.add_template_filter(field_label, "field_label")
    app.add_template_filter(via_label, "via_label")
    app.add_template_filter(item_links, "item_links")
    app.add_template_filter(scrolling_tables, "scrolling_tables")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Browsers ask for /favicon.ico whatever the page links to: give them the SVG."""
        return send_from_directory(app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400)
