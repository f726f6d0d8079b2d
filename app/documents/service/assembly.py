"""The document as Markdown: the title, each section, the live timeline, action-item and related-incident tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import exporters
from app.actions.models import ActionItem
from app.core.dates import org_today
from app.documents import templating
from app.documents.models import DocumentSection
from app.incidents.models import Incident
from app.incidents.service import timeline_rows
from app.retros.models import Retrospective
from app.search.related import related_incidents
from config import Settings

STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done", "wont_do": "Won't do"}
# A related incident's retro status, as the related-incidents table says it.
STATUS_WORDS = {"pending": "Pending", "scheduled": "Scheduled", "completed": "Completed", "published": "Published",
                "withdrawn": "Withdrawn"}
DOCUMENT_TITLE = "Retrospective: {}"
# What a section nobody wrote says in an export: its heading stays (a reader sees the question was
# on the agenda), and the template's prompt never stands in for an answer.
NOT_DISCUSSED = "_Not discussed._"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _close_fences(body: str) -> str:
    """A body whose code fence is never closed would swallow the sections after it: close it."""
    open_fence: str | None = None
    for line in body.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        fence = match.group(1)
        if open_fence is None:
            open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not line.strip()[len(fence):].strip():
            open_fence = None
    return body if open_fence is None else f"{body}\n{open_fence}"


def assemble_markdown(
    session: Session, *, retro: Retrospective, sections: list[DocumentSection], settings: Settings
) -> str:
    """The whole document as Markdown: title, then each section, live ones from current data."""
    return compose_markdown(
        incident_title=retro.incident.title,
        sections=[(section.key, section.title, section.body) for section in sections],
        live=live_markdown(session, retro=retro, sections=sections, settings=settings),
    )


def live_markdown(
    session: Session, *, retro: Retrospective, sections: list[DocumentSection], settings: Settings
) -> dict[str, str]:
    """The live tables (timeline, action items, related incidents) of the document's sections, from current data, by key."""
    keys = {section.key for section in sections}
    live: dict[str, str] = {}
    if "timeline" in keys:
        live["timeline"] = timeline_markdown(session, incident=retro.incident, settings=settings)
    if "action_items" in keys:
        live["action_items"] = action_items_markdown(session, retro=retro, settings=settings)
    if "related" in keys:
        live["related"] = related_markdown(session, incident=retro.incident, settings=settings)
    return live


def compose_markdown(*, incident_title: str, sections: Iterable[tuple[str, str, str]], live: Mapping[str, str]) -> str:
    """The document from its parts: the title, then each (key, title, body) section, a live table above its notes.

    A section with no text (and no live table) says it was not discussed.
    """
    parts = ["# " + DOCUMENT_TITLE.format(templating.md_inline(incident_title))]
    for key, title, body in sections:
        parts.append(f"## {templating.md_inline(title)}")
        if key in live:
            parts.append(live[key])
        body = body.strip("\n")
        if body.strip():
            parts.append(_close_fences(body))
        elif key not in live:
            parts.append(NOT_DISCUSSED)
    return "\n\n".join(parts) + "\n"


def section_html(body: str) -> str:
    """One section's Markdown as the HTML export prints it: raw HTML escaped, only safe links."""
    return exporters.to_html_fragment(exporters.parse(_close_fences(body.strip("\n"))))


def timeline_markdown(session: Session, *, incident: Incident, settings: Settings) -> str:
    """The incident's timeline as a Markdown table, from the current events."""
    return timeline_table(timeline_rows(session, incident_id=incident.id), zone=settings.zone)


def timeline_table(rows: Iterable[Mapping[str, Any]], *, zone: tzinfo) -> str:
    """Timeline rows (`occurred_at`, `kind`, `text`, `author`) as a Markdown table of literal text."""
    inline = templating.md_inline
    out = ["| When | Kind | Event | Who |", "|---|---|---|---|"]
    append = out.append
    for row in rows:
        when = row["occurred_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        append(f"| {when} | {inline(row['kind'])} | {inline(row['text'])} | {inline(row['author'])} |")
    return "\n".join(out) if len(out) > 2 else "_No timeline events yet._"


def related_markdown(session: Session, *, incident: Incident, settings: Settings) -> str:
    """The incidents most like this one as a Markdown table: public ones only, since the document is exported,
    published and shared beyond the people who may see a private incident."""
    inline = templating.md_inline
    out = ["| Incident | Retro | Open follow-ups | Why |", "|---|---|---|---|"]
    for found in related_incidents(session, incident=incident, viewer=None, settings=settings):
        retro = STATUS_WORDS.get(found.retro_status or "", "none yet")
        why = inline("; ".join(found.reasons))
        out.append(f"| #{found.incident.id} {inline(found.incident.title)} | {retro} | {found.open_items} | {why} |")
    return "\n".join(out) if len(out) > 2 else "_No related incidents._"


def action_items_markdown(session: Session, *, retro: Retrospective, settings: Settings) -> str:
    """The retro's action items as a Markdown table, with current statuses and Jira keys."""
    items = session.scalars(
        select(ActionItem).where(ActionItem.retrospective_id == retro.id).order_by(ActionItem.id)
    ).unique()
    today = org_today(settings)
    rows = [
        {"title": item.title, "owner": item.owner.name, "due_date": item.due_date, "status": item.status,
         "jira_key": item.jira_key, "sync_status": item.sync_status, "overdue": item.is_overdue(today)}
        for item in items
    ]
    return action_items_table(rows, jira_url=settings.jira.url)


def action_items_table(rows: Iterable[Mapping[str, Any]], *, jira_url: str) -> str:
    """Action item rows (`title`, `owner`, `due_date`, `status`, `jira_key`, `sync_status`, `overdue`) as a Markdown table.

    Rows marked `overdue` (`ActionItem.is_overdue`) say so; Jira keys link to `jira_url` when it is set.
    """
    jira = jira_url.rstrip("/")
    inline = templating.md_inline
    out = ["| Action | Owner | Due | Status | Jira |", "|---|---|---|---|---|"]
    for item in rows:
        due_date = item["due_date"]
        due = due_date.isoformat() if isinstance(due_date, date) else str(due_date)
        if item.get("overdue"):
            due += " **overdue**"
        jira_key = item["jira_key"]
        if jira_key:
            key = inline(jira_key)
            tracker = f"[{key}]({templating.md_url(f'{jira}/browse/{jira_key}')})" if jira else key
        elif item["sync_status"] == "failed":
            tracker = "_sync failed_"
        elif item["sync_status"] == "pending":
            tracker = "_pending_"
        else:
            tracker = ""
        out.append(
            f"| {inline(item['title'])} | {inline(item['owner'])} | {due} "
            f"| {STATUS_LABELS.get(item['status'], inline(item['status']))} | {tracker} |"
        )
    return "\n".join(out) if len(out) > 2 else "_No action items yet._"
