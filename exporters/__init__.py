"""Markdown to HTML, DOCX and Confluence storage format. Never imports `app`.

Every exporter starts from the same token stream: `parse(markdown)` once, then hand
the result to `to_markdown`, `to_html`, `to_docx` or `to_confluence`.
"""

from exporters.common import DocumentMeta, ParsedDocument, clean_text, is_safe_url, parse
from exporters.confluence import to_confluence
from exporters.html import to_html, to_html_fragment
from exporters.markdown import to_markdown
from exporters.word import DOCX_CONTENT_TYPE, to_docx

__all__ = [
    "DOCX_CONTENT_TYPE", "DocumentMeta", "ParsedDocument", "clean_text", "is_safe_url", "parse",
    "to_confluence", "to_docx", "to_html", "to_html_fragment", "to_markdown",
]
