"""Retro documents: generated from a template when the retro is booked, edited by section, exported, published.

The canonical form is Markdown: stored sections (each with its versions) plus the
timeline and action-item sections, which are rendered from current data whenever
the document is assembled. Every export format is made from that Markdown.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

import exporters
from app.actions.models import ActionItem
from app.auth.models import User
from app.core.errors import Conflict, Forbidden, NotFound, OutsideFailure, RuleViolation, ValidationFailed
from app.core.dates import org_today
from app.db import call_outside, utcnow
from app.documents import templating
from app.documents.models import (
    LIVE_SECTIONS, DocumentPublication, DocumentSection, DocumentSectionVersion, DocumentTemplate,
)
from app.documents.schemas import TemplateCreate
from app.incidents.models import Incident
from app.incidents.service import timeline_rows
from app.retros.models import Retrospective
from app.retros.service import get_retrospective
from config import Settings
from integrations.confluence import ConfluenceClient, ConfluenceConfig, ConfluenceError

log = logging.getLogger(__name__)

STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done", "wont_do": "Won't do"}
ROLE_LABELS = {
    "commander": "Incident commander", "scribe": "Scribe", "communications_lead": "Communications lead",
    "executive_sponsor": "Executive sponsor", "legal_counsel": "Legal counsel", "data_analyst": "Data analyst",
    "customer_support_lead": "Customer support lead", "subject_matter_expert": "Subject matter expert",
}
CONTENT_TYPES = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "docx": (exporters.DOCX_CONTENT_TYPE, "docx"),
    # A storage-format fragment (several roots, undeclared ac: prefixes): text, not an XML document.
    "confluence": ("text/plain; charset=utf-8", "confluence.xml"),
}
DOCUMENT_TITLE = "Retrospective: {}"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SLUG = re.compile(r"[^a-z0-9]+")
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_confluence_off_logged = False


# -- the template context -------------------------------------------------------------------


def _when(value: datetime | None, settings: Settings) -> str:
    return value.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or end < start:
        return ""
    minutes = int((end - start).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours else []) + [f"{minutes} min"]
    return " ".join(parts)


def template_context(session: Session, *, retro: Retrospective, settings: Settings) -> dict[str, Any]:
    """What a template sees: plain data about the incident, its team, timeline, links and rules."""
    incident = retro.incident
    commander = incident.commander
    person = lambda p: {"name": p.name, "email": p.email} if p is not None else None  # noqa: E731
    return {
        "incident": {
            "id": incident.id, "title": incident.title, "severity": incident.severity,
            "status": incident.status, "visibility": incident.visibility,
            "description": incident.description or "", "commander": person(commander),
            "started_at": _when(incident.started_at, settings),
            "detected_at": _when(incident.detected_at, settings),
            "resolved_at": _when(incident.resolved_at, settings),
            "time_to_detect": _duration(incident.started_at, incident.detected_at),
            "duration": _duration(incident.started_at, incident.resolved_at),
            "url": f"{settings.base_url}/incidents/{incident.id}",
        },
        "retro": {
            "id": retro.id, "deadline_at": _when(retro.deadline_at, settings),
            "scheduled_for": _when(retro.scheduled_for, settings),
            "facilitator": person(retro.facilitator),
            "participants": [person(p.person) for p in retro.participants],
        },
        "team": [
            {
                "name": role.person.name, "email": role.person.email, "role": role.role,
                "role_label": ROLE_LABELS.get(role.role, role.role.replace("_", " ")),
                "from": _when(role.started_at, settings), "until": _when(role.ended_at, settings),
                "handed_to": role.handed_to.name if role.handed_to else "",
            }
            for role in incident.roles
        ],
        "responders": [person(p) for p in incident.responders()],
        "links": [{"title": link.title, "url": link.url} for link in incident.links],
        "ground_rules": list(settings.retro.ground_rules),
        "timeline": [
            {"when": _when(row["occurred_at"], settings), "text": row["text"], "author": row["author"] or "",
             "kind": row["kind"]}
            for row in timeline_rows(session, incident_id=incident.id)
        ],
    }


def sample_context() -> dict[str, Any]:
    """A made-up context for trial renders of custom templates and for listing built-in sections."""
    person = {"name": "Sam Sample", "email": "sam@example.com"}
    return {
        "incident": {
            "id": 1, "title": "Sample incident", "severity": "SEV1", "status": "resolved",
            "visibility": "public", "description": "What happened.", "commander": person,
            "started_at": "2026-01-05 09:00 UTC", "detected_at": "2026-01-05 09:04 UTC",
            "resolved_at": "2026-01-05 10:30 UTC", "time_to_detect": "4 min", "duration": "1 h 30 min",
            "url": "http://localhost:8000/incidents/1",
        },
        "retro": {"id": 1, "deadline_at": "2026-01-08 10:30 UTC", "scheduled_for": "", "facilitator": person,
                  "participants": [person]},
        "team": [{"name": "Sam Sample", "email": "sam@example.com", "role": "commander",
                  "role_label": "Incident commander", "from": "2026-01-05 09:04 UTC", "until": "",
                  "handed_to": ""}],
        "responders": [person],
        "links": [{"title": "Dashboard", "url": "https://example.com/dashboard"}],
        "ground_rules": ["We are here to learn, not to blame."],
        "timeline": [{"when": "2026-01-05 09:04 UTC", "text": "Alert fired.", "author": "PagerDuty",
                      "kind": "detection"}],
    }


# -- templates --------------------------------------------------------------------------------


def _custom_template(session: Session, name: str) -> DocumentTemplate | None:
    if not TEMPLATE_NAME.match(name):
        return None
    return session.scalar(select(DocumentTemplate).where(DocumentTemplate.name == name))


def render_limits(settings: Settings) -> templating.Limits:
    """How long and how much memory one render of a custom template may take."""
    return templating.Limits(seconds=settings.documents.render_seconds, memory_mb=settings.documents.render_memory_mb)


def render_template(
    session: Session, *, name: str, context: dict[str, Any], settings: Settings,
) -> list[templating.RenderedSection]:
    """The sections of template `name` (built-in or custom), rendered with `context`."""
    if name in templating.BUILTIN_TEMPLATES:
        return templating.render_builtin(name, context)
    custom = _custom_template(session, name)
    if custom is None:
        raise NotFound(f"There is no template named {name}.", fields={"template": f"unknown template {name!r}"})
    return templating.render_custom(custom.sections, context, name=name, limits=render_limits(settings))


def list_templates(session: Session) -> list[dict[str, Any]]:
    """Every template: the built-in ones first, then the custom ones by name."""
    items = [_builtin_read(name) for name in templating.BUILTIN_TEMPLATES]
    items += [_custom_read(t) for t in session.scalars(select(DocumentTemplate).order_by(DocumentTemplate.name))]
    return items


def get_template(session: Session, *, name: str) -> dict[str, Any]:
    """One template with its section bodies (Jinja source)."""
    if name in templating.BUILTIN_TEMPLATES:
        return _builtin_read(name, with_source=True)
    custom = _custom_template(session, name)
    if custom is None:
        raise NotFound(f"There is no template named {name}.")
    return _custom_read(custom, with_bodies=True)


_TEMPLATE_TITLES = {
    "standard": ("Standard retrospective", "For SEV0 and SEV1 incidents."),
    "security": ("Security incident retrospective", "Adds data exposure, disclosure obligations and legal review."),
    "lightweight": ("Lightweight retrospective", "A short retro for SEV2 incidents."),
}


def _builtin_read(name: str, *, with_source: bool = False) -> dict[str, Any]:
    sections = templating.render_builtin(name, sample_context())
    title, description = _TEMPLATE_TITLES[name]
    return {
        "name": name, "title": title, "description": description, "builtin": True,
        "sections": [{"key": s.key, "title": s.title, "live": s.key in LIVE_SECTIONS} for s in sections],
        "source": templating.builtin_source(name) if with_source else None,
    }


def _custom_read(template: DocumentTemplate, *, with_bodies: bool = False) -> dict[str, Any]:
    return {
        "name": template.name, "title": template.title, "description": template.description, "builtin": False,
        "sections": [
            {"key": s["key"], "title": s["title"], "live": s["key"] in LIVE_SECTIONS,
             "body": s["body"] if with_bodies else None}
            for s in template.sections
        ],
        "created_at": template.created_at,
        "created_by": template.created_by.email if template.created_by else None,
    }


def create_template(session: Session, *, data: TemplateCreate, actor: User, settings: Settings) -> DocumentTemplate:
    """Store a custom template after checking every section body in the sandbox.

    Only admins create templates: they shape every retro that uses them. Raises
    ValidationFailed naming `sections.N.body` for a body the sandbox refuses, one
    that fails its trial render or takes more than the render's time or memory.
    """
    if not actor.is_admin:
        raise Forbidden("Only admins create document templates.", code="admin_only")
    if data.name in templating.BUILTIN_TEMPLATES or _custom_template(session, data.name) is not None:
        raise Conflict(
            f"A template named {data.name} already exists.", code="duplicate_template",
            fields={"name": "is already used by another template"},
        )
    bodies = [section.body for section in data.sections]
    checked = templating.check_sources(bodies, sample_context(), limits=render_limits(settings))
    problems = {f"sections.{number}.body": problem for number, problem in enumerate(checked) if problem}
    if problems:
        raise ValidationFailed(
            "Some section templates are refused: " + "; ".join(f"{k} {v}" for k, v in problems.items()),
            code="unsafe_template", fields=problems,
        )
    template = DocumentTemplate(
        name=data.name, title=data.title, description=data.description,
        sections=[{"key": s.key, "title": s.title, "body": s.body} for s in data.sections],
        created_by_id=actor.person_id,
    )
    session.add(template)
    session.flush()
    return template


# -- generating and reading the document --------------------------------------------------------


def _sections(session: Session, retro_id: int) -> list[DocumentSection]:
    return list(session.scalars(
        select(DocumentSection).where(DocumentSection.retrospective_id == retro_id).order_by(DocumentSection.position)
    ))


def _write_sections(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    name = retro.template
    if name not in templating.BUILTIN_TEMPLATES and _custom_template(session, name) is None:
        log.warning("retro %s asks for unknown template %r; using standard", retro.id, name)
        name = retro.template = "standard"
    rendered = render_template(
        session, name=name, context=template_context(session, retro=retro, settings=settings), settings=settings,
    )
    for position, item in enumerate(rendered):
        section = DocumentSection(
            retrospective_id=retro.id, key=item.key, title=item.title[:200], body=item.body,
            position=position, version=1,
        )
        session.add(section)
        session.flush()
        session.add(DocumentSectionVersion(section_id=section.id, version=1, title=section.title, body=item.body))
    session.flush()


def prepare_document(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    """Generate the retro's document from its template, once; a retro that has one keeps it."""
    exists = session.scalar(select(DocumentSection.id).where(DocumentSection.retrospective_id == retro.id).limit(1))
    if exists is None:
        _write_sections(session, retro=retro, settings=settings)


@dataclass(frozen=True)
class DocumentView:
    """A retro's document as assembled now."""

    retro: Retrospective
    sections: list[DocumentSection]
    markdown: str
    publications: dict[str, DocumentPublication | None]

    @property
    def title(self) -> str:
        return document_title(self.retro)


def document_title(retro: Retrospective) -> str:
    return DOCUMENT_TITLE.format(retro.incident.title)


def get_document(session: Session, *, viewer: User, retro_id: int, settings: Settings) -> DocumentView:
    """The document of a retro the viewer may see (NotFound otherwise), live sections rendered now."""
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    return _view(session, retro=retro, settings=settings)


def _view(session: Session, *, retro: Retrospective, settings: Settings) -> DocumentView:
    sections = _sections(session, retro.id)
    publication = session.scalar(
        select(DocumentPublication).where(
            DocumentPublication.retrospective_id == retro.id, DocumentPublication.target == "confluence"
        )
    )
    markdown = assemble_markdown(session, retro=retro, sections=sections, settings=settings)
    return DocumentView(retro=retro, sections=sections, markdown=markdown, publications={"confluence": publication})


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
    keys = {section.key for section in sections}
    live: dict[str, str] = {}
    if "timeline" in keys:
        live["timeline"] = timeline_markdown(session, incident=retro.incident, settings=settings)
    if "action_items" in keys:
        live["action_items"] = action_items_markdown(session, retro=retro, settings=settings)
    return compose_markdown(
        incident_title=retro.incident.title,
        sections=[(section.key, section.title, section.body) for section in sections],
        live=live,
    )


def compose_markdown(*, incident_title: str, sections: Iterable[tuple[str, str, str]], live: Mapping[str, str]) -> str:
    """The document from its parts: the title, then each (key, title, body) section, a live table above its notes."""
    parts = ["# " + DOCUMENT_TITLE.format(templating.md_inline(incident_title))]
    for key, title, body in sections:
        parts.append(f"## {templating.md_inline(title)}")
        if key in live:
            parts.append(live[key])
        body = body.strip("\n")
        if body.strip():
            parts.append(_close_fences(body))
    return "\n\n".join(parts) + "\n"


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


def action_items_markdown(session: Session, *, retro: Retrospective, settings: Settings) -> str:
    """The retro's action items as a Markdown table, with current statuses and Jira keys."""
    items = session.scalars(
        select(ActionItem).where(ActionItem.retrospective_id == retro.id).order_by(ActionItem.id)
    ).unique()
    rows = [
        {"title": item.title, "owner": item.owner.name, "due_date": item.due_date, "status": item.status,
         "jira_key": item.jira_key, "sync_status": item.sync_status}
        for item in items
    ]
    return action_items_table(rows, today=org_today(settings), jira_url=settings.jira.url)


def action_items_table(rows: Iterable[Mapping[str, Any]], *, today: date, jira_url: str) -> str:
    """Action item rows (`title`, `owner`, `due_date`, `status`, `jira_key`, `sync_status`) as a Markdown table.

    Open items due before `today` are marked overdue; Jira keys link to `jira_url` when it is set.
    """
    jira = jira_url.rstrip("/")
    inline = templating.md_inline
    out = ["| Action | Owner | Due | Status | Jira |", "|---|---|---|---|---|"]
    for item in rows:
        due_date = item["due_date"]
        due = due_date.isoformat() if isinstance(due_date, date) else str(due_date)
        if item["status"] in ("open", "in_progress") and due_date < today:
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


# -- editing --------------------------------------------------------------------------------------


def _section(session: Session, retro_id: int, key: str) -> DocumentSection:
    if not templating.SECTION_KEY.match(key):
        raise NotFound(f"The document has no section {key!r}.", fields={"key": "not a section key"})
    section = session.scalar(
        select(DocumentSection).where(DocumentSection.retrospective_id == retro_id, DocumentSection.key == key)
    )
    if section is None:
        raise NotFound(f"The document has no section {key}.", fields={"key": f"no section {key!r}"})
    return section


def section_state(section: DocumentSection) -> dict[str, Any]:
    """A section as plain JSON-ready data (the `current` of a 409)."""
    return {
        "key": section.key, "title": section.title, "body": section.body, "version": section.version,
        "live": section.live, "updated_at": section.updated_at.isoformat(),
        "updated_by": section.updated_by.email if section.updated_by else None,
    }


def save_section(
    session: Session, *, viewer: User, retro_id: int, key: str, body: str, version: int, title: str | None = None
) -> DocumentSection:
    """Save a new text of a section edited from `version`; every version is kept.

    Raises Conflict (409, `stale_version`) with the current text when someone saved
    since `version`: the check and the write are one UPDATE, so two facilitators
    saving at once can never overwrite each other. Saving the text the section
    already has changes nothing (a retried request is not a conflict).
    """
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    section = _section(session, retro.id, key)
    new_title = title if title is not None else section.title
    if body == section.body and new_title == section.title:
        return section
    if version != section.version:
        raise _stale(section, version)
    result = session.execute(
        update(DocumentSection)
        .where(DocumentSection.id == section.id, DocumentSection.version == version)
        .values(body=body, title=new_title, version=version + 1, updated_at=utcnow(),
                updated_by_id=viewer.person_id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(section)
    if result.rowcount != 1:
        raise _stale(section, version)
    session.add(DocumentSectionVersion(
        section_id=section.id, version=section.version, title=section.title, body=section.body,
        created_by_id=viewer.person_id,
    ))
    session.flush()
    return section


def _stale(section: DocumentSection, version: int) -> Conflict:
    return Conflict(
        f"Section {section.key} was saved by someone else since version {version}; it is at version "
        f"{section.version} now. Merge your text into the current one and save again with that version.",
        code="stale_version", fields={"version": f"is stale: the section is at version {section.version}"},
        extra={"current": section_state(section)},
    )


def section_history(session: Session, *, viewer: User, retro_id: int, key: str) -> tuple[DocumentSection, list[DocumentSectionVersion]]:
    """Every saved version of a section, newest first."""
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    section = _section(session, retro.id, key)
    versions = list(session.scalars(
        select(DocumentSectionVersion).where(DocumentSectionVersion.section_id == section.id)
        .order_by(DocumentSectionVersion.version.desc())
    ))
    return section, versions


def choose_template(session: Session, *, viewer: User, retro_id: int, template: str, settings: Settings) -> DocumentView:
    """Regenerate the document from another template, while nobody has edited it yet.

    Raises Conflict (`document_edited`) once any section has a saved edit: nothing
    written by people is ever thrown away.
    """
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    if template not in templating.BUILTIN_TEMPLATES and _custom_template(session, template) is None:
        raise ValidationFailed(f"There is no template named {template}.", fields={"template": "unknown template"})
    sections = _sections(session, retro.id)
    edited = [s.key for s in sections if s.version > 1]
    if edited:
        raise Conflict(
            f"The document has edits ({', '.join(edited)}); the template can only change before anyone edits it.",
            code="document_edited",
        )
    for section in sections:
        session.delete(section)
    session.flush()
    retro.template = template
    _write_sections(session, retro=retro, settings=settings)
    return _view(session, retro=retro, settings=settings)


# -- exporting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    data: bytes


def document_meta(view: DocumentView, settings: Settings) -> exporters.DocumentMeta:
    """The plain metadata the exporters need besides the Markdown."""
    retro, incident = view.retro, view.retro.incident
    author = retro.facilitator.name if retro.facilitator else (incident.commander.name if incident.commander else "")
    return exporters.DocumentMeta(
        title=view.title,
        author=author,
        subject=f"{incident.severity} incident #{incident.id}: {incident.title}",
        keywords=("retrospective", incident.severity, f"incident-{incident.id}"),
        created=retro.created_at,
        description=f"Retrospective of incident #{incident.id} ({incident.severity}), exported by Hindsight.",
    )


def render_export(view: DocumentView, fmt: str, settings: Settings) -> bytes:
    """The assembled document in one format, from one parse of its Markdown."""
    parsed = exporters.parse(view.markdown)
    meta = document_meta(view, settings)
    if fmt == "markdown":
        return exporters.to_markdown(parsed).encode("utf-8")
    if fmt == "html":
        return exporters.to_html(parsed, meta).encode("utf-8")
    if fmt == "docx":
        return exporters.to_docx(parsed, meta)
    if fmt == "confluence":
        return exporters.to_confluence(parsed, meta).encode("utf-8")
    raise ValidationFailed(f"Unknown export format {fmt}.", fields={"format": "must be markdown, docx, html or confluence"})


def export_document(session: Session, *, viewer: User, retro_id: int, fmt: str, settings: Settings) -> ExportFile:
    """The document as a file in `fmt` (markdown, html, docx, confluence)."""
    if fmt not in CONTENT_TYPES:
        raise ValidationFailed(f"Unknown export format {fmt}.", fields={"format": "must be markdown, docx, html or confluence"})
    view = get_document(session, viewer=viewer, retro_id=retro_id, settings=settings)
    content_type, extension = CONTENT_TYPES[fmt]
    slug = _SLUG.sub("-", view.retro.incident.title.lower()).strip("-")[:50] or "document"
    return ExportFile(
        filename=f"retro-{view.retro.id}-{slug}.{extension}",
        content_type=content_type,
        data=render_export(view, fmt, settings),
    )


# -- publishing --------------------------------------------------------------------------------------


# A publish claimed longer ago than this was cut short (its process died): it may be claimed again.
PUBLISH_CLAIM = timedelta(minutes=5)


class PublishFailed(OutsideFailure):
    """Confluence failed while the request waited; the failure is recorded on the retro."""


def confluence_client(settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> ConfluenceClient | None:
    """A client for the configured Confluence, or None when publishing is off (logged once)."""
    global _confluence_off_logged
    c = settings.confluence
    if not c.enabled:
        if not _confluence_off_logged:
            log.info("Confluence publishing is off: set confluence.url and confluence.space to turn it on")
            _confluence_off_logged = True
        return None
    return ConfluenceClient(
        ConfluenceConfig(
            url=c.url, space=c.space, user=c.user, token=c.token, parent_id=c.parent_id,
            timeout_seconds=c.timeout_seconds, max_retry_after_seconds=c.max_retry_after_seconds,
            rate_limit_retries=c.rate_limit_retries,
        ),
        sleep=sleep,
    )


def page_title(retro: Retrospective) -> str:
    """The Confluence page title: unique per retro, so a lost answer is found again by title."""
    return exporters.clean_text(f"Retrospective #{retro.id}: {' '.join(retro.incident.title.split())}")[:255]


def publish_to_confluence(
    session: Session, *, viewer: User | None, retro_id: int, settings: Settings,
    client: ConfluenceClient | None = None,
) -> DocumentPublication:
    """Publish the document to its one Confluence page: created the first time, updated in place later.

    Raises RuleViolation when Confluence is not configured, and PublishFailed (502,
    503 or 504) when Confluence fails; the failure is recorded on the publication,
    and the caller commits it. The document itself is never touched.
    """
    if viewer is None:
        retro = session.get(Retrospective, retro_id)
        if retro is None:
            raise NotFound(f"Retrospective {retro_id} does not exist.")
    else:
        retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    if retro.incident.is_private and not settings.confluence.publish_private:
        # A Confluence space is read by more people than a private incident's team.
        raise RuleViolation(
            "This incident is private: its retro is not published to Confluence "
            "(set confluence.publish_private to allow it, with page restrictions of your own).",
            code="private_not_published",
        )
    client = client or confluence_client(settings)
    if client is None:
        raise RuleViolation(
            "Publishing to Confluence is off: set HINDSIGHT_CONFLUENCE_URL and HINDSIGHT_CONFLUENCE_SPACE.",
            code="confluence_not_configured",
        )
    # Claim the publication in a short transaction: the row lock (PostgreSQL; SQLite serialises
    # writers) is held only while the claim is written, never during the call to Confluence.
    session.execute(select(Retrospective.id).where(Retrospective.id == retro.id).with_for_update())
    publication = session.scalar(
        select(DocumentPublication).where(
            DocumentPublication.retrospective_id == retro.id, DocumentPublication.target == "confluence"
        ).execution_options(populate_existing=True)
    )
    now = utcnow()
    if publication is None:
        publication = DocumentPublication(retrospective_id=retro.id, target="confluence", status="pending", attempts=0)
        session.add(publication)
    elif publication.status == "publishing" and not _claim_expired(publication, now):
        raise Conflict(
            "This retro is being published to Confluence right now; wait a minute, then reload to see the result.",
            code="publish_in_progress",
        )
    view = _view(session, retro=retro, settings=settings)
    storage = exporters.to_confluence(exporters.parse(view.markdown), document_meta(view, settings))
    title = page_title(retro)
    page_id = publication.page_id
    publication.status = "publishing"
    publication.attempts += 1
    publication.last_attempt_at = now
    session.flush()
    try:
        page = call_outside(session, lambda: client.publish(title, storage, page_id=page_id))
    except ConfluenceError as exc:
        publication.status = "failed"
        publication.last_error = exc.message[:2000]
        session.flush()
        code = {503: "confluence_unavailable", 504: "confluence_timeout"}.get(exc.status, "confluence_failed")
        extra: dict[str, Any] = {"publication": {"status": "failed", "attempts": publication.attempts,
                                                 "page_id": publication.page_id}}
        if exc.retry_after is not None:
            extra["retry_after"] = exc.retry_after
        raise PublishFailed(
            f"Publishing to Confluence failed: {exc.message} The document is saved; publish again later.",
            code=code, status=exc.status, extra=extra,
        ) from exc
    publication.status = "published"
    publication.page_id = page.id
    publication.page_version = page.version
    publication.url = page.url
    publication.title = page.title
    publication.last_error = None
    publication.published_at = utcnow()
    publication.published_by_id = viewer.person_id if viewer is not None else publication.published_by_id
    if retro.status == "completed":
        retro.status = "published"
    session.flush()
    return publication


def _claim_expired(publication: DocumentPublication, now: datetime) -> bool:
    started = publication.last_attempt_at
    return started is None or now - started > PUBLISH_CLAIM


def failed_publications(session: Session, *, settings: Settings, now: datetime | None = None) -> list[int]:
    """Ids of the retros whose last Confluence publish failed, or died unfinished (for the scheduler to retry).

    Retros of incidents made private since are left out unless private ones may be published.
    """
    stale = (now or utcnow()) - PUBLISH_CLAIM
    query = (
        select(DocumentPublication.retrospective_id)
        .join(Retrospective, Retrospective.id == DocumentPublication.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(
            DocumentPublication.target == "confluence",
            or_(
                DocumentPublication.status == "failed",
                and_(DocumentPublication.status == "publishing", DocumentPublication.last_attempt_at < stale),
            ),
        )
        .order_by(DocumentPublication.last_attempt_at)
    )
    if not settings.confluence.publish_private:
        query = query.where(Incident.visibility == "public")
    return list(session.scalars(query))
