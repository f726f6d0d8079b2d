"""The document templates: the built-in ones and the custom ones admins add, checked in the sandbox."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.documents import templating
from app.documents.models import DocumentTemplate, LIVE_SECTIONS
from app.documents.schemas import TemplateCreate
from app.documents.service.context import sample_context
from config import Settings

TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def custom_template(session: Session, name: str) -> DocumentTemplate | None:
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
    custom = custom_template(session, name)
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
    custom = custom_template(session, name)
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
        "sections": [{"key": s.key, "title": s.title, "prompt": s.prompt, "live": s.key in LIVE_SECTIONS}
                     for s in sections],
        "source": templating.builtin_source(name) if with_source else None,
    }


def _custom_read(template: DocumentTemplate, *, with_bodies: bool = False) -> dict[str, Any]:
    return {
        "name": template.name, "title": template.title, "description": template.description, "builtin": False,
        "sections": [
            {"key": s["key"], "title": s["title"], "prompt": s.get("prompt") or "", "live": s["key"] in LIVE_SECTIONS,
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
    if data.name in templating.BUILTIN_TEMPLATES or custom_template(session, data.name) is not None:
        raise Conflict(
            f"A template named {data.name} already exists.", code="duplicate_template",
            fields={"name": "is already used by another template"},
        )
    _check_sections(data, settings=settings)
    template = DocumentTemplate(
        name=data.name, title=data.title, description=data.description,
        sections=_stored_sections(data), created_by_id=actor.person_id,
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session, *, name: str, data: TemplateCreate, actor: User, settings: Settings,
) -> DocumentTemplate:
    """Replace a custom template's title, description and sections, checked as on creation.

    Only admins; built-in templates are files and are not changed (409 `builtin_template`).
    The name stays: retros and the severity settings refer to a template by it.
    """
    if not actor.is_admin:
        raise Forbidden("Only admins change document templates.", code="admin_only")
    if name in templating.BUILTIN_TEMPLATES:
        raise Conflict(
            f"The built-in template {name} cannot be changed; create a custom template instead.",
            code="builtin_template",
        )
    template = custom_template(session, name)
    if template is None:
        raise NotFound(f"There is no template named {name}.")
    if data.name != name:
        raise ValidationFailed(
            "A template's name cannot be changed; create a new template instead.",
            code="template_renamed", fields={"name": "cannot be changed"},
        )
    _check_sections(data, settings=settings)
    template.title = data.title
    template.description = data.description
    template.sections = _stored_sections(data)
    session.flush()
    return template


def _check_sections(data: TemplateCreate, *, settings: Settings) -> None:
    """Unique keys, and every section body passes the sandbox's checks and a trial render."""
    # Unique keys: a rule across the list that the OpenAPI document cannot state, so it is checked here.
    seen: set[str] = set()
    for section in data.sections:
        if section.key in seen:
            raise ValidationFailed(f"The section key {section.key} is used twice.",
                                   fields={"sections": f"the key {section.key!r} is used twice"})
        seen.add(section.key)
    bodies = [section.body for section in data.sections]
    checked = templating.check_sources(bodies, sample_context(), limits=render_limits(settings))
    problems = {f"sections.{number}.body": problem for number, problem in enumerate(checked) if problem}
    if problems:
        raise ValidationFailed(
            "Some section templates are refused: " + "; ".join(f"{k} {v}" for k, v in problems.items()),
            code="unsafe_template", fields=problems,
        )


def _stored_sections(data: TemplateCreate) -> list[dict[str, Any]]:
    return [{"key": s.key, "title": s.title, "body": s.body, "prompt": templating.prompt_text(s.prompt)} for s in data.sections]
