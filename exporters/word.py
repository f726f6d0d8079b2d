"""DOCX export with python-docx: real Word structure, built as WordprocessingML from the shared token stream.

python-docx gives the package, styles, numbering part, relationships and core
properties; the body is written as one WordprocessingML string and spliced into the
main part, because building thousands of table rows through `add_row()` and
`cell.text` is as slow as pandoc at retro sizes.

Structure kept: a leading `# title` becomes the Title paragraph and the other
headings move up one level (`##` becomes Heading 1); bulleted and numbered lists,
nested, each with its own numbering instance (so every numbered list starts at its
own first number); tables with a repeating, bold header row; bold, italic,
strikethrough, inline code (the Inline Code character style), code blocks (the
Code Block paragraph style); working hyperlinks (the Hyperlink character style).
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass, field
from html import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.shared import Pt, RGBColor
from markdown_it.token import Token

from exporters.common import DocumentMeta, ParsedDocument, clean_text

_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
_BULLETS = ("\u2022", "\u25e6", "\u25aa")
_NUMBER_FORMATS = ("decimal", "lowerLetter", "lowerRoman")
_LIST_LEVELS = 9
_MONO = "Consolas"
# Fast deflate: the main part is megabytes of repetitive XML, level 1 still shrinks it ~10x.
_ZIP_LEVEL = 1
_HEADER_FILL = "E7E9EE"
_HR = '<w:p><w:pPr><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="auto"/></w:pBdr></w:pPr></w:p>'

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _t(text: str) -> str:
    return escape(text, quote=False)


@functools.lru_cache(maxsize=64)
def _rpr(bold: bool, italic: bool, strike: bool, code: bool, link: bool) -> str:
    parts = []
    if link:
        parts.append('<w:rStyle w:val="Hyperlink"/>')
        if code:
            parts.append(f'<w:rFonts w:ascii="{_MONO}" w:hAnsi="{_MONO}" w:cs="{_MONO}"/>')
    elif code:
        parts.append('<w:rStyle w:val="InlineCode"/>')
    if bold:
        parts.append("<w:b/>")
    if italic:
        parts.append("<w:i/>")
    if strike:
        parts.append("<w:strike/>")
    return f"<w:rPr>{''.join(parts)}</w:rPr>" if parts else ""


def _run(text: str, rpr: str) -> str:
    return f'<w:r>{rpr}<w:t xml:space="preserve">{_t(text)}</w:t></w:r>'


@dataclass
class _List:
    ordered: bool
    num_id: int
    depth: int
    item_started: bool = False


@dataclass
class _Table:
    rows: list[list[tuple[str, str | None, int]]] = field(default_factory=list)
    header_rows: int = 0


class _Writer:
    """Turns the token stream into body XML, collecting hyperlinks and list numbering as it goes."""

    def __init__(self, document: DocxDocument, text_width: int) -> None:
        self.document = document
        self.part = document.part
        self.text_width = text_width
        self.out: list[str] = []
        self.links: dict[str, str] = {}
        self.numbering = self.part.numbering_part.element
        ids = [int(v) for v in self.numbering.xpath("./w:abstractNum/@w:abstractNumId")]
        base = max(ids, default=-1) + 1
        self.bullet_abstract = base
        self.number_abstract = base + 1
        self.next_num = max((int(v) for v in self.numbering.xpath("./w:num/@w:numId")), default=0) + 1
        self.nums: list[str] = []

    # -- inline -------------------------------------------------------------------------

    def link_id(self, url: str) -> str:
        """The relationship id of an external hyperlink, one per distinct URL.

        python-docx's `relate_to` searches every relationship per call; with thousands of
        links that is quadratic, so ids are kept here and added directly.
        """
        rid = self.links.get(url)
        if rid is None:
            rid = f"rIdHs{len(self.links) + 1}"
            self.part.rels.add_relationship(RT.HYPERLINK, url, rid, is_external=True)
            self.links[url] = rid
        return rid

    def inline(self, token: Token, *, bold: bool = False) -> str:
        parts: list[str] = []
        append = parts.append
        strong = em = strike = 0
        link = False
        for child in token.children or ():
            kind = child.type
            if kind == "text":
                if child.content:
                    append(_run(child.content, _rpr(bold or strong > 0, em > 0, strike > 0, False, link)))
            elif kind == "softbreak":
                append(_run(" ", _rpr(bold or strong > 0, em > 0, strike > 0, False, link)))
            elif kind == "hardbreak":
                append("<w:r><w:br/></w:r>")
            elif kind == "code_inline":
                append(_run(child.content, _rpr(bold or strong > 0, em > 0, strike > 0, True, link)))
            elif kind == "strong_open":
                strong += 1
            elif kind == "strong_close":
                strong -= 1
            elif kind == "em_open":
                em += 1
            elif kind == "em_close":
                em -= 1
            elif kind == "s_open":
                strike += 1
            elif kind == "s_close":
                strike -= 1
            elif kind == "link_open":
                append(f'<w:hyperlink r:id="{self.link_id(str(child.attrGet("href")))}" w:history="1">')
                link = True
            elif kind == "link_close":
                append("</w:hyperlink>")
                link = False
            elif kind == "image":
                src = str(child.attrGet("src") or "")
                rpr = _rpr(bold or strong > 0, em > 0, strike > 0, False, True)
                if link:  # an image inside a link: its alt text joins that link
                    append(_run(child.content or src, rpr))
                else:
                    append(f'<w:hyperlink r:id="{self.link_id(src)}" w:history="1">{_run(child.content or src, rpr)}</w:hyperlink>')
        return "".join(parts)

    # -- blocks -------------------------------------------------------------------------

    def paragraph(self, runs: str, *, style: str | None = None, extra: str = "") -> None:
        ppr = (f'<w:pStyle w:val="{style}"/>' if style else "") + extra
        self.out.append(f"<w:p><w:pPr>{ppr}</w:pPr>{runs}</w:p>" if ppr else f"<w:p>{runs}</w:p>")

    def new_num(self, ordered: bool, depth: int, start: int) -> int:
        num_id = self.next_num
        self.next_num += 1
        abstract = self.number_abstract if ordered else self.bullet_abstract
        # A start override on each instance makes every list count from its own start,
        # instead of continuing the previous list that shares the definition.
        self.nums.append(
            f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{abstract}"/>'
            f'<w:lvlOverride w:ilvl="{depth}"><w:startOverride w:val="{start}"/></w:lvlOverride></w:num>'
        )
        return num_id

    def code(self, text: str) -> None:
        lines = text.rstrip("\n").split("\n")
        body = '<w:br/>'.join(
            f'<w:t xml:space="preserve">{_t(line)}</w:t>'.replace("\t", '</w:t><w:tab/><w:t xml:space="preserve">')
            for line in lines
        )
        self.out.append(f'<w:p><w:pPr><w:pStyle w:val="CodeBlock"/></w:pPr><w:r>{body}</w:r></w:p>')

    def table(self, table: _Table) -> None:
        columns = max((len(row) for row in table.rows), default=0)
        if columns == 0:
            return
        widths = self.column_widths(table, columns)
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
        rows = []
        for number, row in enumerate(table.rows):
            header = number < table.header_rows
            cells = []
            for col in range(columns):
                runs, align, _length = row[col] if col < len(row) else ("", None, 0)
                jc = f'<w:jc w:val="{align}"/>' if align else ""
                shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{_HEADER_FILL}"/>' if header else ""
                cells.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="{widths[col]}" w:type="dxa"/>{shade}</w:tcPr>'
                    f"<w:p>{'<w:pPr>' + jc + '</w:pPr>' if jc else ''}{runs}</w:p></w:tc>"
                )
            trpr = "<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if header else ""
            rows.append(f"<w:tr>{trpr}{''.join(cells)}</w:tr>")
        self.out.append(
            '<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="5000" w:type="pct"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            'w:noHBand="0" w:noVBand="1"/></w:tblPr>'
            f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
        )
        # Word needs a paragraph between two tables, or it merges them.
        self.out.append("<w:p/>")

    def column_widths(self, table: _Table, columns: int) -> list[int]:
        """Widths in proportion to the (square root of the) typical text length of each column."""
        lengths = [1.0] * columns
        for row in table.rows[:200]:
            for col, (_runs, _align, length) in enumerate(row[:columns]):
                lengths[col] += length
        weights = [max(n, 1.0) ** 0.5 for n in lengths]
        total = sum(weights)
        floor = self.text_width // (columns * 3)
        raw = [max(int(self.text_width * w / total), floor) for w in weights]
        scale = self.text_width / sum(raw)
        return [int(w * scale) for w in raw]

    def write(self, tokens: list[Token]) -> None:
        count = len(tokens)
        index = 0
        shift = 0
        if count >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
            self.paragraph(self.inline(tokens[1]), style="Title")
            index = 3
            shift = 1
        lists: list[_List] = []
        quote = 0
        table: _Table | None = None
        cell_align: str | None = None
        in_head = False
        while index < count:
            token = tokens[index]
            kind = token.type
            if kind == "inline":
                if table is not None:
                    table.rows[-1].append((self.inline(token, bold=in_head), cell_align, len(token.content)))
                # paragraph and heading text is written by their opening tokens
            elif kind == "paragraph_open":
                runs = self.inline(tokens[index + 1])
                if lists:
                    current = lists[-1]
                    level = min(current.depth, 2)
                    suffix = "" if level == 0 else str(level + 1)
                    if not current.item_started:
                        current.item_started = True
                        style = ("ListNumber" if current.ordered else "ListBullet") + suffix
                        numpr = (
                            f'<w:numPr><w:ilvl w:val="{min(current.depth, _LIST_LEVELS - 1)}"/>'
                            f'<w:numId w:val="{current.num_id}"/></w:numPr>'
                        )
                        self.paragraph(runs, style=style, extra=numpr)
                    else:
                        indent = 720 * (min(current.depth, _LIST_LEVELS - 1) + 1)
                        self.paragraph(runs, style="ListContinue" + suffix, extra=f'<w:ind w:left="{indent}"/>')
                else:
                    self.paragraph(runs, style="Quote" if quote else None)
                index += 2  # the inline and the close
            elif kind == "heading_open":
                level = max(1, min(int(token.tag[1]) - shift, 9))
                self.paragraph(self.inline(tokens[index + 1]), style=f"Heading{level}")
                index += 2
            elif kind in ("bullet_list_open", "ordered_list_open"):
                ordered = kind == "ordered_list_open"
                depth = len(lists)
                start = int(token.attrGet("start") or 1) if ordered else 1
                lists.append(_List(ordered, self.new_num(ordered, min(depth, _LIST_LEVELS - 1), start), depth))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
            elif kind == "list_item_open":
                lists[-1].item_started = False
            elif kind == "blockquote_open":
                quote += 1
            elif kind == "blockquote_close":
                quote -= 1
            elif kind in ("fence", "code_block"):
                self.code(token.content)
            elif kind == "hr":
                self.out.append(_HR)
            elif kind == "table_open":
                table = _Table()
            elif kind == "table_close":
                if table is not None:
                    self.table(table)
                table = None
            elif kind == "thead_open":
                in_head = True
            elif kind == "thead_close":
                in_head = False
            elif kind == "tr_open" and table is not None:
                table.rows.append([])
                if in_head:
                    table.header_rows += 1
            elif kind in ("th_open", "td_open"):
                style = str(token.attrGet("style") or "")
                cell_align = {"text-align:center": "center", "text-align:right": "right"}.get(style)
            index += 1

    def register_numbering(self) -> None:
        """Add the list definitions and the one numbering instance per list that the body uses."""
        if not self.nums:
            return
        definitions = parse_xml(f"<w:numbering {_NS}>{_abstract_nums(self.bullet_abstract, self.number_abstract)}"
                                f"{''.join(self.nums)}</w:numbering>")
        abstracts = self.numbering.xpath("./w:abstractNum")
        anchor = abstracts[-1] if abstracts else None
        for element in list(definitions):
            if element.tag == qn("w:abstractNum"):  # every abstractNum comes before every num
                if anchor is None:
                    self.numbering.insert(0, element)
                else:
                    anchor.addnext(element)
                anchor = element
            else:
                self.numbering.append(element)


def _abstract_nums(bullet_id: int, number_id: int) -> str:
    def levels(ordered: bool) -> str:
        out = []
        for level in range(_LIST_LEVELS):
            indent = 720 * (level + 1)
            if ordered:
                fmt, text = _NUMBER_FORMATS[level % 3], f"%{level + 1}."
            else:
                fmt, text = "bullet", _BULLETS[level % 3]
            out.append(
                f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="{indent}" w:hanging="360"/></w:pPr></w:lvl>'
            )
        return "".join(out)

    return (
        f'<w:abstractNum w:abstractNumId="{bullet_id}"><w:multiLevelType w:val="hybridMultilevel"/>{levels(False)}</w:abstractNum>'
        f'<w:abstractNum w:abstractNumId="{number_id}"><w:multiLevelType w:val="hybridMultilevel"/>{levels(True)}</w:abstractNum>'
    )


def _add_styles(document: DocxDocument) -> None:
    styles = document.styles
    names = {style.name for style in styles}
    if "Hyperlink" not in names:
        link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        link.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
        link.font.underline = True
    if "Inline Code" not in names:
        code = styles.add_style("Inline Code", WD_STYLE_TYPE.CHARACTER)
        code.font.name = _MONO
        code.font.size = Pt(10)
    if "Code Block" not in names:
        block = styles.add_style("Code Block", WD_STYLE_TYPE.PARAGRAPH)
        block.base_style = styles["Normal"]
        block.font.name = _MONO
        block.font.size = Pt(9)
        block.paragraph_format.space_before = Pt(4)
        block.paragraph_format.space_after = Pt(4)
        block.paragraph_format.keep_together = True


def to_docx(doc: ParsedDocument, meta: DocumentMeta) -> bytes:
    """The document as a .docx file."""
    document = Document()
    _add_styles(document)
    properties = document.core_properties
    properties.title = clean_text(meta.title)[:255]
    properties.author = clean_text(meta.author)[:255]
    properties.last_modified_by = clean_text(meta.author)[:255]
    properties.subject = clean_text(meta.subject)[:255]
    properties.keywords = clean_text(", ".join(meta.keywords))[:255]
    properties.comments = clean_text(meta.description)[:255]
    properties.category = "Incident retrospective"
    properties.revision = 1
    if meta.created is not None:
        properties.created = meta.created
        properties.modified = meta.created
    section = document.sections[0]
    text_width = int((section.page_width - section.left_margin - section.right_margin) / 635)
    writer = _Writer(document, text_width)
    writer.write(doc.tokens)
    writer.register_numbering()
    buffer = io.BytesIO()
    document.save(buffer)
    return _with_body(buffer.getvalue(), document.part.partname.lstrip("/"), "".join(writer.out))


def _with_body(package: bytes, part_name: str, body: str) -> bytes:
    """The package with `body` (WordprocessingML) placed in the main part, before its section properties.

    The body is spliced in as text: moving thousands of parsed elements into
    python-docx's tree costs lxml a namespace fix-up per node (seconds per export),
    and the text is well-formed by construction (every value is escaped).
    """
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == part_name:
                text = data.decode("utf-8")
                at = text.rfind("<w:sectPr")
                if at < 0:
                    at = text.rindex("</w:body>")
                data = (text[:at] + body + text[at:]).encode("utf-8")
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL)
    return out.getvalue()
