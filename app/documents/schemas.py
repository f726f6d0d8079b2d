"""Request and response shapes for retro documents, sections and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, AliasPath, Field, StringConstraints

from app.core.schemas import EmailOf, JsonPattern, Line, RequestModel, ResponseModel

def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and it carries no text: pasted logs lose only that.
    return value.replace("\x00", "")


# Any text: NUL characters are taken and dropped, not refused.
_ANY_TEXT = JsonPattern(r"^[\s\S]*$")


ExportFormat = Literal["markdown", "docx", "html", "confluence"]
SectionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# One line of text: no line breaks or other control characters.
OneLine = Annotated[Line, StringConstraints(max_length=200)]
TemplateName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")]

MAX_SECTION_CHARS = 200_000
MAX_TEMPLATE_BODY_CHARS = 50_000
MAX_PROMPT_CHARS = 500


class SectionUpdate(RequestModel):
    """A new text for a section; `version` is the version it was edited from."""

    body: Annotated[str, StringConstraints(max_length=MAX_SECTION_CHARS), AfterValidator(_without_nul), _ANY_TEXT]
    version: int = Field(ge=1, le=2**31 - 1)
    title: Optional[OneLine] = None


class SectionRead(ResponseModel):
    key: str
    title: str
    body: str
    # The template's question for the section: a placeholder while it is empty, never part of `body`.
    prompt: str = ""
    version: int
    live: bool
    updated_at: datetime
    updated_by: Optional[EmailOf]


class SectionVersionRead(ResponseModel):
    version: int
    title: str
    body: str
    created_at: datetime
    created_by: Optional[EmailOf]


class SectionHistory(ResponseModel):
    key: str
    items: list[SectionVersionRead]


class PublicationRead(ResponseModel):
    status: str
    page_id: Optional[str]
    version: Optional[int] = Field(validation_alias="page_version")
    url: Optional[str]
    title: Optional[str]
    last_error: Optional[str]
    attempts: int
    last_attempt_at: Optional[datetime]
    published_at: Optional[datetime]


# Built from a DocumentView (`model_validate(view)`).
class DocumentRead(ResponseModel):
    retrospective_id: int = Field(validation_alias=AliasPath("retro", "id"))
    template: str = Field(validation_alias=AliasPath("retro", "template"))
    title: str
    sections: list[SectionRead]
    markdown: str
    publications: dict[str, Optional[PublicationRead]]


class PreviewRequest(RequestModel):
    """Markdown to preview as the exports would print it."""

    body: Annotated[str, StringConstraints(max_length=MAX_SECTION_CHARS), AfterValidator(_without_nul), _ANY_TEXT]


class PreviewRead(ResponseModel):
    html: str


class ExportQuery(RequestModel):
    format: ExportFormat = "markdown"


class PublishRead(ResponseModel):
    page_id: str
    url: str
    version: int
    title: str
    status: str


class TemplateChoice(RequestModel):
    template: TemplateName


class TemplateSectionIn(RequestModel):
    key: SectionKey
    title: OneLine
    body: Annotated[str, StringConstraints(max_length=MAX_TEMPLATE_BODY_CHARS), AfterValidator(_without_nul), _ANY_TEXT] = ""
    # Plain text (not Jinja), shown to the people writing the section while it is empty.
    prompt: Annotated[str, StringConstraints(max_length=MAX_PROMPT_CHARS), AfterValidator(_without_nul), _ANY_TEXT] = ""


class TemplateCreate(RequestModel):
    """A custom template: its sections in order; each body is Jinja rendered in a sandbox."""

    name: TemplateName
    title: OneLine
    description: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_without_nul), _ANY_TEXT] = ""
    # Keys are unique (checked by documents.service.create_template).
    sections: list[TemplateSectionIn] = Field(min_length=1, max_length=50)


class TemplateSectionRead(ResponseModel):
    key: str
    title: str
    prompt: str = ""
    body: Optional[str] = None
    live: bool


class TemplateRead(ResponseModel):
    name: str
    title: str
    description: str
    builtin: bool
    sections: list[TemplateSectionRead]
    source: Optional[str] = None
    created_at: Optional[datetime] = None
    created_by: Optional[str] = None


class TemplateList(ResponseModel):
    items: list[TemplateRead]
