"""Retro documents: generated from a template when the retro is booked, edited by section, exported, published.

The canonical form is Markdown: stored sections (each with its versions) plus the
timeline and action-item sections, which are rendered from current data whenever
the document is assembled. Every export format is made from that Markdown.

The parts: `context` (what templates see), `catalogue` (the templates), `assembly`
(the Markdown), `generation` (making and reading the document), `editing`, `export`
and `publishing` (Confluence). Their public names are importable from here.
"""

from app.documents.service.context import (
    ROLE_LABELS, template_context, sample_context,
)
from app.documents.service.catalogue import (
    TEMPLATE_NAME, custom_template, render_limits, render_template, list_templates, get_template,
    create_template, update_template,
)
from app.documents.service.assembly import (
    STATUS_LABELS, DOCUMENT_TITLE, NOT_DISCUSSED, assemble_markdown, live_markdown, section_html, compose_markdown, timeline_markdown, timeline_table,
    action_items_markdown, action_items_table,
)
from app.documents.service.generation import (
    sections_of, write_sections, prepare_document, DocumentView, document_title, get_document, document_view,
)
from app.documents.service.editing import (
    LOCKED_STATUSES, is_locked, section_state, save_section, preview_section, section_history, choose_template,
)
from app.documents.service.export import (
    CONTENT_TYPES, ExportFile, document_meta, render_export, export_document,
)
from app.documents.service.publishing import (
    PUBLISH_CLAIM, PublishFailed, confluence_client, page_title, publish_to_confluence, failed_publications,
)
