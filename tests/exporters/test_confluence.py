import xml.etree.ElementTree as ET

import pytest

import exporters
from tests.exporters.test_html import XSS
from tests.fakes.confluence import AC_NS, parse_storage

AC = "{%s}" % AC_NS


def macros(root: ET.Element, name: str) -> list[ET.Element]:
    return [m for m in root.iter(f"{AC}structured-macro") if m.get(f"{AC}name") == name]


def parameters(macro: ET.Element) -> dict[str, str]:
    return {p.get(f"{AC}name"): p.text for p in macro.findall(f"{AC}parameter")}


def test_is_well_formed_xhtml_without_the_title(sample, meta):
    storage = exporters.to_confluence(sample, meta)
    root = parse_storage(storage)
    assert root.find("h1") is None  # the page has its own title
    assert [h.text for h in root.findall("h2")] == ["Timeline", "Action items", "Lists"]
    assert root.find("h3").text == "Code"
    paragraph = root.find("p")
    assert paragraph.find("strong").text == "bold" and paragraph.find("em").text == "italic"
    assert paragraph.find("code").text == "inline code"
    assert paragraph.find("a").get("href") == "https://example.com/a?b=1&c=2"
    assert root.find("blockquote/p").text == "A quote."
    assert root.find("hr") is not None


def test_code_blocks_are_code_macros_with_cdata_split(sample, meta):
    root = parse_storage(exporters.to_confluence(sample, meta))
    [code] = macros(root, "code")
    assert parameters(code) == {"language": "python"}
    body = code.find(f"{AC}plain-text-body").text
    assert body == 'print("]]> is not the end")\n\tindented = True'


def test_code_without_known_language_has_no_language_parameter(meta):
    root = parse_storage(exporters.to_confluence(exporters.parse("```weird-lang\nx\n```\n\n    indented code\n"), meta))
    first, second = macros(root, "code")
    assert parameters(first) == {} and parameters(second) == {}
    assert second.find(f"{AC}plain-text-body").text == "indented code"


def test_tables_have_header_rows_and_status_lozenges(sample, meta):
    root = parse_storage(exporters.to_confluence(sample, meta))
    timeline, actions = root.findall("table")
    rows = timeline.findall("tbody/tr")
    assert [th.text for th in rows[0].findall("th")] == ["When", "Event", "Who"]
    assert rows[2].findall("td")[1].text == "Pipe | inside"
    assert macros(timeline, "status") == []
    statuses = [parameters(m) for m in macros(actions, "status")]
    assert statuses == [
        {"colour": "Green", "title": "DONE"}, {"colour": "Blue", "title": "IN PROGRESS"},
        {"colour": "Grey", "title": "OPEN"},
    ]
    assert actions.find("tbody/tr/td/a").get("href") == "https://jira.example.com/browse/OPS-1"


def test_nested_lists_and_list_starts(sample, meta):
    root = parse_storage(exporters.to_confluence(sample, meta))
    outer = root.find("ul")
    assert outer.find("li/ul/li/ol/li").text == "deep number"
    starts = [ol.get("start") for ol in root.findall("ol")]
    assert starts == [None, "3", "7"]


@pytest.mark.parametrize("drop", [True, False])
def test_xss_payloads_stay_text(meta, drop):
    storage = exporters.to_confluence(exporters.parse(XSS), meta, drop_title=drop)
    root = parse_storage(storage)
    tags = {element.tag for element in root.iter()}
    assert not tags & {"script", "img", "iframe"}
    hrefs = [a.get("href") for a in root.iter("a")]
    assert hrefs == ["https://tracker.example.com/p.gif", "https://example.com", "mailto:a@example.com"]
    assert "<script>alert(1)</script>" in "".join(root.itertext())


def test_control_characters_never_reach_the_xml(meta):
    storage = exporters.to_confluence(exporters.parse("log line \x00\x08\x1b[31mred\x1b[0m\n\n```\n\x07bell\n```"), meta)
    root = parse_storage(storage)
    assert "log line [31mred[0m" in "".join(root.itertext())
