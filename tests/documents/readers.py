"""Read an export back as a person sees it: its title, table cells, list items and paragraphs as plain text.

Each reader uses what a reader of that format would (markdown-it as a CommonMark + tables
viewer with raw HTML on, Python's html.parser, python-docx, an XML parser), not our exporters,
so text that an export turned into markup (emphasis, code, links, raw HTML, entities, split
cells) reads back different from what was entered.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

import docx
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.fakes.confluence import parse_storage


@dataclass
class Read:
    title: str | None = None
    tables: list[list[list[str]]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)

    def table(self, first_header: str) -> list[list[str]]:
        """The rows of the table whose first header cell is `first_header`."""
        return next(t for t in self.tables if t and t[0] and t[0][0] == first_header)

    def row(self, first_header: str, first_cell: str) -> list[str]:
        """The row of that table whose first cell is `first_cell`."""
        return next(r for r in self.table(first_header) if r[0] == first_cell)


# What a Markdown viewer does: CommonMark with GitHub's tables and strikethrough, raw HTML on.
_VIEWER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child))
        # html_inline is markup a viewer hides, so it adds no text
    return "".join(parts)


def read_markdown(text: str) -> Read:
    read = Read()
    tokens = _VIEWER.parse(text)
    in_item = 0
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "list_item_open":
            in_item += 1
        elif kind == "list_item_close":
            in_item -= 1
        elif kind == "table_open":
            read.tables.append([])
        elif kind == "tr_open":
            read.tables[-1].append([])
        elif kind == "inline":
            opener = tokens[index - 1]
            text_ = _inline_text(token)
            if opener.type in ("th_open", "td_open"):
                read.tables[-1][-1].append(text_)
            elif opener.type == "heading_open" and opener.tag == "h1":
                read.title = text_
            elif opener.type == "paragraph_open":
                (read.items if in_item else read.paragraphs).append(text_)
    return read


class _HtmlReader(HTMLParser):
    _CAPTURED = ("h1", "th", "td", "li", "p")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.read = Read()
        self.open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.read.tables.append([])
        elif tag == "tr":
            self.read.tables[-1].append([])
        if tag in self._CAPTURED:
            self.open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._CAPTURED:
            return
        name, parts = self.open.pop()
        assert name == tag, (name, tag)
        text = "".join(parts).strip("\n")
        if tag == "h1":
            self.read.title = text
        elif tag in ("th", "td"):
            self.read.tables[-1][-1].append(text)
        elif tag == "li":
            self.read.items.append(text)
        elif not any(open_tag == "li" for open_tag, _ in self.open):
            self.read.paragraphs.append(text)

    def handle_data(self, data: str) -> None:
        for _tag, parts in self.open:
            parts.append(data)


def read_html(text: str) -> Read:
    reader = _HtmlReader()
    reader.feed(text)
    reader.close()
    return reader.read


def read_docx(data: bytes) -> Read:
    document = docx.Document(io.BytesIO(data))
    read = Read()
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style == "Title":
            read.title = paragraph.text
        elif style.startswith(("List Number", "List Bullet")):
            read.items.append(paragraph.text)
        elif paragraph.text:
            read.paragraphs.append(paragraph.text)
    read.tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    return read


def read_confluence(text: str) -> Read:
    """Confluence storage has no title (the page has its own)."""
    root = parse_storage(text)
    read = Read()
    for table in root.iter("table"):
        read.tables.append([["".join(cell.itertext()) for cell in row if cell.tag in ("th", "td")]
                            for row in table.iter("tr")])
    read.items = ["".join(li.itertext()) for li in root.iter("li")]
    inside_items = {p for li in root.iter("li") for p in li.iter("p")}
    read.paragraphs = ["".join(p.itertext()) for p in root.iter("p") if p not in inside_items]
    return read
