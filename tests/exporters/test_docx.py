import io
import zipfile

import pytest
from docx.oxml.ns import qn

import exporters
from tests.exporters.conftest import read_docx
from tests.exporters.test_html import XSS


def numbering(document):
    """numId -> (abstract numbering, {ilvl: (start override)})."""
    part = document.part.numbering_part.element
    abstracts = {a.get(qn("w:abstractNumId")): a for a in part.findall(qn("w:abstractNum"))}
    nums = {}
    for num in part.findall(qn("w:num")):
        abstract = abstracts[num.find(qn("w:abstractNumId")).get(qn("w:val"))]
        starts = {
            int(o.get(qn("w:ilvl"))): int(o.find(qn("w:startOverride")).get(qn("w:val")))
            for o in num.findall(qn("w:lvlOverride"))
        }
        nums[num.get(qn("w:numId"))] = (abstract, starts)
    return nums


def list_info(paragraph):
    numpr = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
    if numpr is None:
        return None
    return int(numpr.ilvl.val), str(numpr.numId.val)


def level_format(abstract, level):
    lvl = [l for l in abstract.findall(qn("w:lvl")) if l.get(qn("w:ilvl")) == str(level)][0]
    return lvl.find(qn("w:numFmt")).get(qn("w:val"))


@pytest.fixture
def document(sample, meta):
    return read_docx(exporters.to_docx(sample, meta))


def test_title_headings_and_core_properties(document, meta):
    paragraphs = document.paragraphs
    assert paragraphs[0].style.name == "Title" and paragraphs[0].text == "Retrospective: DB failover"
    headings = [(p.style.name, p.text) for p in paragraphs if p.style.name.startswith("Heading")]
    assert headings == [("Heading 1", "Timeline"), ("Heading 1", "Action items"), ("Heading 1", "Lists"),
                        ("Heading 2", "Code")]
    props = document.core_properties
    assert props.title == meta.title and props.author == "Ann Author" and props.subject == "SEV1 incident #7"
    assert props.keywords == "retrospective, SEV1"
    assert props.created == meta.created


def test_inline_formats_are_runs_with_real_formatting(document):
    intro = document.paragraphs[1]
    runs = {run.text: run for run in intro.runs}
    assert runs["bold"].bold and not runs["italic"].bold
    assert runs["italic"].italic
    assert runs["inline code"].style.name == "Inline Code"
    assert runs["struck"].font.strike
    [link] = intro.hyperlinks
    assert link.url == "https://example.com/a?b=1&c=2" and link.text == "a link"
    assert link.runs[0].style.name == "Hyperlink"
    assert intro.text.startswith("Intro with bold, italic, inline code, struck and a link")


def test_nested_bulleted_and_numbered_lists(document):
    nums = numbering(document)
    items = [(p.text, p.style.name, list_info(p)) for p in document.paragraphs if list_info(p)]
    texts = [text for text, _, _ in items]
    assert texts == ["first bullet", "nested bullet", "deep number", "second bullet",
                     "one", "two", "three", "four", "seven", "eight"]
    by_text = {text: (style, info) for text, style, info in items}
    assert [by_text[t][1][0] for t in ("first bullet", "nested bullet", "deep number")] == [0, 1, 2]
    assert by_text["first bullet"][0] == "List Bullet" and by_text["nested bullet"][0] == "List Bullet 2"
    assert by_text["deep number"][0] == "List Number 3"
    abstract, _ = nums[by_text["first bullet"][1][1]]
    assert level_format(abstract, 0) == "bullet" and level_format(abstract, 1) == "bullet"
    deep_abstract, deep_starts = nums[by_text["deep number"][1][1]]
    assert level_format(deep_abstract, 2) == "lowerRoman" and deep_starts == {2: 1}
    # "- first" and "- second" are one list; each numbered list is its own, restarting at its first number.
    assert by_text["first bullet"][1][1] == by_text["second bullet"][1][1]
    assert by_text["one"][1][1] == by_text["two"][1][1]
    list_ids = {by_text[t][1][1] for t in ("one", "three", "seven")}
    assert len(list_ids) == 3
    assert nums[by_text["one"][1][1]][1] == {0: 1}
    assert nums[by_text["three"][1][1]][1] == {0: 3}
    assert nums[by_text["seven"][1][1]][1] == {0: 7}
    assert level_format(nums[by_text["one"][1][1]][0], 0) == "decimal"


def test_tables_have_header_rows_cells_and_links(document):
    timeline, actions = document.tables
    assert [[c.text for c in row.cells] for row in timeline.rows] == [
        ["When", "Event", "Who"], ["10:00", "Alert fired", "Ann"], ["10:05", "Pipe | inside", "Bob"],
    ]
    header = timeline.rows[0]
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(run.bold for cell in header.cells for run in cell.paragraphs[0].runs)
    assert timeline.rows[1]._tr.trPr is None
    assert timeline.style.name == "Table Grid"
    assert timeline.rows[1].cells[1].paragraphs[0].runs[1].bold  # **fired** kept inside a cell
    [mail] = timeline.rows[1].cells[2].paragraphs[0].hyperlinks
    assert mail.url == "mailto:ann@example.com"
    assert [c.text for c in actions.rows[1].cells] == ["Add alert", "Ann", "Done", "OPS-1"]
    [jira] = actions.rows[1].cells[3].paragraphs[0].hyperlinks
    assert jira.url == "https://jira.example.com/browse/OPS-1"
    widths = [col.width for col in timeline.columns]
    assert all(w and w > 0 for w in widths)


def test_code_blocks_quotes_and_rules(document):
    [code] = [p for p in document.paragraphs if p.style.name == "Code Block"]
    assert code.text == 'print("]]> is not the end")\n\tindented = True'
    assert code.runs[0].font.name is None and code.style.font.name == "Consolas"
    [quote] = [p for p in document.paragraphs if p.style.name == "Quote"]
    assert quote.text == "A quote."


def test_control_characters_export_instead_of_crashing(meta):
    text = "# Log\x00 paste\n\nline\x01 with \x1b[31mcolour\x1b[0m and \x0b tab \ufffe\n\n| a\x02 | b |\n|---|---|\n| \x03c | d |\n"
    document = read_docx(exporters.to_docx(exporters.parse(text), exporters.DocumentMeta(title="t\x00itle")))
    assert document.paragraphs[0].text == "Log paste"
    assert document.paragraphs[1].text == "line with [31mcolour[0m and  tab"
    assert document.tables[0].rows[1].cells[0].text == "c"
    assert document.core_properties.title == "title"


def test_xss_payloads_are_plain_text_and_unsafe_links_are_not_links(meta):
    data = exporters.to_docx(exporters.parse(XSS), meta)
    document = read_docx(data)
    urls = [link.url for p in document.paragraphs for link in p.hyperlinks]
    urls += [link.url for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs
             for link in p.hyperlinks]
    assert urls == ["https://tracker.example.com/p.gif", "https://example.com", "mailto:a@example.com"]
    assert any(p.text == "<script>alert(1)</script>" for p in document.paragraphs)
    rels = zipfile.ZipFile(io.BytesIO(data)).read("word/_rels/document.xml.rels").decode()
    assert "javascript" not in rels.lower() and "vbscript" not in rels.lower()


def test_spaces_between_formatted_runs_survive(meta):
    document = read_docx(exporters.to_docx(exporters.parse("**a** *b*  `c`"), meta))
    assert document.paragraphs[0].text == "a b  c"


def test_many_links_to_one_url_share_one_relationship(meta):
    text = "\n".join(f"- [x{i}](https://example.com/same)" for i in range(50))
    data = exporters.to_docx(exporters.parse(text), meta)
    rels = zipfile.ZipFile(io.BytesIO(data)).read("word/_rels/document.xml.rels").decode()
    assert rels.count("https://example.com/same") == 1
