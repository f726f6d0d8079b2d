"""What every exporter shares: cleaning the text, the one parser, the parsed document, its metadata."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Characters XML 1.0 cannot hold (control characters pasted from logs, lone surrogates,
# the two non-characters). Word and Confluence refuse a document that contains one.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

SAFE_SCHEMES = ("http:", "https:", "mailto:")

DEFAULT_STATUS_COLOURS: Mapping[str, str] = MappingProxyType({
    "open": "Grey",
    "in progress": "Blue",
    "done": "Green",
    "won't do": "Red",
})


def clean_text(text: str) -> str:
    """`text` with Unix line ends and without the characters XML cannot hold."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _XML_ILLEGAL.sub("", text)


def is_safe_url(url: str) -> bool:
    """Only http, https and mailto links survive into any export."""
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # A link to anything else (javascript:, data:, relative paths) stays literal text.
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    return md


# One configured parser for the process: MarkdownIt keeps no per-document state.
PARSER = _parser()


@dataclass(frozen=True)
class DocumentMeta:
    """Plain facts about the document that its Markdown does not carry.

    `status_column` names the table column whose cells are action-item statuses;
    `status_colours` maps a status (case-insensitive) to a Confluence lozenge colour.
    """

    title: str
    author: str = ""
    subject: str = ""
    keywords: tuple[str, ...] = ()
    created: datetime | None = None
    description: str = ""
    status_column: str = "Status"
    status_colours: Mapping[str, str] = field(default_factory=lambda: DEFAULT_STATUS_COLOURS)

    def colour_of(self, status: str) -> str | None:
        """The lozenge colour of a status cell's text, if it is a known status."""
        wanted = status.strip().lower()
        for name, colour in self.status_colours.items():
            if name.lower() == wanted:
                return colour
        return None


# markdown-it's core stages: up to `block` the structure (with source line maps), then inline parsing.
_CORE_RULES = PARSER.core.ruler.getRules("")
_BLOCK_STAGE = [rule.__name__ for rule in _CORE_RULES].index("block") + 1


class ParsedDocument:
    """The cleaned Markdown and its markdown-it token stream, parsed once and shared by every exporter.

    The block structure is parsed at once; inline content (the bulk of the work in a
    5,000-row table) is parsed into the same tokens the first time `tokens` is read,
    so the Markdown export, which needs only the blocks, never pays for it.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._state = StateCore(source, PARSER, {})
        for rule in _CORE_RULES[:_BLOCK_STAGE]:
            rule(self._state)
        self._inline_parsed = False
        self._lock = threading.Lock()

    @property
    def blocks(self) -> list[Token]:
        """The tokens with their block structure and source maps (inline children may be unparsed)."""
        return self._state.tokens

    @property
    def tokens(self) -> list[Token]:
        """The complete token stream, as `MarkdownIt.parse` gives it."""
        if not self._inline_parsed:
            with self._lock:
                if not self._inline_parsed:
                    for rule in _CORE_RULES[_BLOCK_STAGE:]:
                        rule(self._state)
                    self._inline_parsed = True
        return self._state.tokens


def parse(markdown: str) -> ParsedDocument:
    """Clean `markdown` and parse it into the token stream every exporter starts from."""
    return ParsedDocument(clean_text(markdown))


def plain_text(inline: Token) -> str:
    """The visible text of an inline token (formatting dropped)."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)
