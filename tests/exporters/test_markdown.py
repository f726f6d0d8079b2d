import exporters
from exporters.common import PARSER

from tests.exporters.conftest import SAMPLE


def test_normalises_line_ends_blank_lines_and_control_characters():
    messy = "# Title\r\n\r\n\r\n\r\nText\x00 with\x1b control\x07 chars.   \r\n   \r\n\r\n- a\r\n- b\r\n\r\n\r\n"
    out = exporters.to_markdown(exporters.parse(messy))
    assert out == "# Title\n\nText with control chars.   \n\n- a\n- b\n"


def test_keeps_every_block_and_inline_format_and_reference_definitions():
    text = "Intro [ref link][r] and **bold**.\n\n\n[r]: https://example.com/r\n\n\n```\ncode  \n\n\nmore\n```\n"
    out = exporters.to_markdown(exporters.parse(text))
    assert "[r]: https://example.com/r" in out
    assert "```\ncode  \n\n\nmore\n```" in out  # code blocks are verbatim
    assert PARSER.render(out) == PARSER.render(text)


def test_round_trip_renders_the_same_document():
    out = exporters.to_markdown(exporters.parse(SAMPLE))
    assert PARSER.render(out) == PARSER.render(SAMPLE)
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_empty_document():
    assert exporters.to_markdown(exporters.parse("")) == ""
