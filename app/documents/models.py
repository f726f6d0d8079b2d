"""Retro documents: sections with versions and history, custom templates, publications (issue: documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.people.models import Person

# Sections rendered from current data at every export; their stored body is notes shown below.
LIVE_SECTIONS = ("timeline", "action_items", "related")


class DocumentSection(Base):
    """One section of a retro's document, at its latest version."""

    __tablename__ = "document_sections"
    __table_args__ = (UniqueConstraint("retrospective_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # The template's question for this section, shown while it is empty; never part of the body.
    prompt: Mapped[str] = mapped_column(Text, default="", server_default="")
    position: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))

    updated_by: Mapped[Optional[Person]] = relationship(lazy="joined")

    @property
    def live(self) -> bool:
        return self.key in LIVE_SECTIONS


class DocumentSectionVersion(Base):
    """Every saved version of a section, the first (generated) one included."""

    __tablename__ = "document_section_versions"
    __table_args__ = (UniqueConstraint("section_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("document_sections.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))

    created_by: Mapped[Optional[Person]] = relationship(lazy="joined")


class DocumentTemplate(Base):
    """A custom template: ordered sections whose bodies are Jinja, rendered in the sandbox."""

    __tablename__ = "document_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"key", "title", "body", "prompt"?}] in document order; bodies are Jinja, prompts plain text.
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))

    created_by: Mapped[Optional[Person]] = relationship(lazy="joined")


class DocumentPublication(Base):
    """Where a retro's document was published (one page per target) and how the last attempt went."""

    __tablename__ = "document_publications"
    __table_args__ = (UniqueConstraint("retrospective_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retrospective_id: Mapped[int] = mapped_column(ForeignKey("retrospectives.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(32), default="confluence")
    # "published" after a success, "failed" after a failure (the page, if any, keeps its last good version).
    status: Mapped[str] = mapped_column(String(16), default="failed")
    page_id: Mapped[Optional[str]] = mapped_column(String(64))
    page_version: Mapped[Optional[int]] = mapped_column(Integer)
    url: Mapped[Optional[str]] = mapped_column(String(2000))
    title: Mapped[Optional[str]] = mapped_column(String(300))
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[Optional[datetime]]
    published_at: Mapped[Optional[datetime]]
    published_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
