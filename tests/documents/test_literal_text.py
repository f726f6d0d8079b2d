"""Single-line facts (event text, names, titles, link titles) read back exactly as entered from every export.

Whitespace: a fact is one line of text. What is compared is the entered text without the
characters XML cannot hold (C0 controls but tab and line ends, U+FFFE, U+FFFF; every export
drops them), with every run of whitespace (line breaks, tabs, no-break spaces...) made one
space and the ends trimmed: `" ".join(clean_text(text).split())`. Every other character must
come back as it was. Generated facts hold any character but lone surrogates (which cannot
be entered: they are not UTF-8).

The property tests build the document's Markdown with the app's own template and table
functions (no database) and read each exporter's output back; one test goes through
the export endpoint on each database.
"""

from __future__ import annotations

import copy
import string
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exporters
from app.documents import service, templating
from tests.documents.conftest import add_action_item, at
from tests.documents.readers import Read, read_confluence, read_docx, read_html, read_markdown

NASTY = r"^(?:\d+\.)?[a-z_]+\|\\(\*\)`x`$ a *global terminate* \\| \\\| <b>&amp;</b> [l](https://x) ~~s~~"

# Pieces that mean something to Markdown somewhere: at the start of a line, in a table, inline.
MARKUP = [
    "\\" * n + "|" for n in range(6)
] + [
    "#", "# ", "##", ">", "> ", "1.", "1. ", "1)", "-", "- ", "+ ", "* ", "    ", "---", "===", "```", "~~~",
    "*", "**", "_", "__", "~~", "`", "``", "\\", "\\\\", "[", "]", "](", "[a](https://x.example)", "![i](https://x/i.png)",
    "<", ">", "<b>", "</b>", "<!--", "<https://x.example>", "<a@b.example>", "&", "&amp;", "&#65;", "&copy;",
    "https://example.com/a_b*c*|d", "www.example.com", "a@b.example", ":", "::", "\"", "'", "!", "[^1]",
]
WHITESPACE = [" ", "  ", "\t", "\u00a0", "\u2028", "\n", "\r\n", "\x1b", "\x00", "\x0c"]
CHARACTERS = st.characters(codec="utf-8")
PIECE = st.one_of(
    st.sampled_from(MARKUP), st.sampled_from(string.punctuation), st.sampled_from(WHITESPACE),
    st.text(CHARACTERS, min_size=1, max_size=6),
)
FACTS = st.lists(PIECE, min_size=1, max_size=12).map("".join).filter(lambda text: exporters.clean_text(text).split())
EXAMPLES = [
    NASTY, "a *global terminate*", "\\\\\\|", "# not a heading", "1. not a list", "- not a list", "> not a quote",
    "    not code", "a \x1b[31mred\x1b[0m \x00b", "&lt;tag&gt; &amp;", "| starts and ends |", "x\\", "https://example.com/a_b*c*|d\\", "#",
]


def single_line(text: str) -> str:
    return " ".join(exporters.clean_text(text).split())


def document_markdown(fact: str) -> str:
    """The standard document with `fact` as every single-line fact it holds, built as the app builds it."""
    context = copy.deepcopy(service.sample_context())
    person = {"name": fact, "email": "sam@example.com"}
    context["incident"].update(title=fact, commander=person, description="")
    context["retro"]["facilitator"] = person
    context["team"] = [{"name": fact, "email": "sam@example.com", "role": "commander",
                        "role_label": "Incident commander", "from": "2026-01-05 09:04 UTC",
                        "until": "2026-01-05 10:00 UTC", "handed_to": fact}]
    context["links"] = [{"title": fact, "url": "https://example.com/dashboard"}]
    context["ground_rules"] = [fact]
    sections = templating.render_builtin("standard", context)
    live = {
        "timeline": service.timeline_table(
            [{"occurred_at": datetime(2026, 1, 5, 9, 4, tzinfo=timezone.utc), "kind": "note", "text": fact,
              "author": fact}],
            zone=timezone.utc,
        ),
        "action_items": service.action_items_table(
            [{"title": fact, "owner": fact, "due_date": date(2026, 1, 20), "status": "open", "jira_key": "OPS-1",
              "sync_status": "synced", "overdue": False}],
            jira_url="https://jira.example.com",
        ),
    }
    return service.compose_markdown(incident_title=fact, sections=[(s.key, s.title, s.body) for s in sections],
                                    live=live)


def _meta() -> exporters.DocumentMeta:
    return exporters.DocumentMeta(title="Retrospective", author="Sam Sample")


READERS = {
    "markdown": lambda doc: read_markdown(exporters.to_markdown(doc)),
    "html": lambda doc: read_html(exporters.to_html(doc, _meta())),
    "docx": lambda doc: read_docx(exporters.to_docx(doc, _meta())),
    "confluence": lambda doc: read_confluence(exporters.to_confluence(doc, _meta())),
}


def assert_facts_read_back(read: Read, fmt: str, entered: str, *, jira_key: str = "OPS-1") -> None:
    """Every place the standard document holds the fact shows exactly the entered text."""
    fact = single_line(entered)
    if fmt != "confluence":  # Confluence storage leaves the title to the page
        assert read.title == f"Retrospective: {fact}"
    assert read.row("Fact", "Incident")[1].endswith(f" {fact}")
    assert read.row("Fact", "Commander")[1] == f"{fact} (sam@example.com)"
    team = read.table("Person")[1]
    assert team[0] == f"{fact} (sam@example.com)" and team[3].endswith(f", handed to {fact}")
    assert read.table("When")[1][1:] == ["note", fact, fact]
    action = read.table("Action")[1]
    assert action[:2] == [fact, fact] and action[4] == jira_key
    assert read.items.count(fact) == 2  # the ground rule and the link title
    assert f"Facilitator: {fact} (sam@example.com)." in read.paragraphs


@pytest.mark.parametrize("fmt", ["markdown", "html", "confluence"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact=FACTS)
def test_facts_read_back_as_entered(fmt, fact):
    read = READERS[fmt](exporters.parse(document_markdown(fact)))
    assert_facts_read_back(read, fmt, fact)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact=FACTS)
def test_facts_read_back_as_entered_from_docx(fact):
    """As above; fewer examples, each Word file takes ~0.1 s."""
    read = READERS["docx"](exporters.parse(document_markdown(fact)))
    assert_facts_read_back(read, "docx", fact)


@pytest.mark.parametrize("fmt", list(READERS))
@pytest.mark.parametrize("fact", EXAMPLES)
def test_known_nasty_facts_read_back_as_entered(fmt, fact):
    read = READERS[fmt](exporters.parse(document_markdown(fact)))
    assert_facts_read_back(read, fmt, fact)


def test_the_markdown_of_a_fact_is_one_line_of_escaped_text():
    line = templating.md_inline("1. a *b*\n\t| c (d) see https://example.com/a_b.html?x=1#y")
    assert line == "1\\. a \\*b\\* \\| c \\(d\\) see https://example.com/a\\_b.html?x=1#y"
    assert "\n" not in templating.md_inline(NASTY)


@pytest.mark.parametrize("settings_overrides", [{
    "jira": {"url": "https://jira.example.com", "project": "OPS"},
    "retro": {"ground_rules": [NASTY]},
}])
def test_export_endpoint_shows_facts_literally(app, factory, auth, client):
    """The whole way: entered through the API, exported by the route, on each database."""
    owner = factory.person(name=NASTY, email="sam@example.com")
    incident, retro = factory.resolved_incident(
        auth, title=NASTY, commander=owner.email, description="",
        links=[{"title": NASTY, "url": "https://example.com/dashboard"}],
    )
    response = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth,
                           json={"occurred_at": at(3), "text": NASTY, "author": NASTY})
    assert response.status_code in (200, 201), response.get_json()
    add_action_item(app, retro["id"], owner.email, title=NASTY, jira_key="OPS-1", sync_status="synced")
    readers = {"markdown": read_markdown, "html": read_html, "docx": read_docx, "confluence": read_confluence}
    for fmt, reader in readers.items():
        exported = client.get(f"/api/v1/retrospectives/{retro['id']}/export?format={fmt}", headers=auth)
        assert exported.status_code == 200, (fmt, exported.data[:300])
        read = reader(exported.data if fmt == "docx" else exported.get_data(as_text=True))
        fact = single_line(NASTY)
        if fmt != "confluence":
            assert read.title == f"Retrospective: {fact}", fmt
        assert read.row("Fact", "Incident")[1] == f"#{incident['id']} {fact}", fmt
        assert read.row("Fact", "Commander")[1] == f"{fact} (sam@example.com)", fmt
        assert read.table("Person")[1][0] == f"{fact} (sam@example.com)", fmt
        assert read.table("When")[1][1:] == ["note", fact, fact], fmt
        assert read.table("Action")[1][:2] == [fact, fact] and read.table("Action")[1][4] == "OPS-1", fmt
        assert read.items[:1] == [fact] and fact in read.items[1:], fmt


@pytest.mark.parametrize("url", [
    "https://example.com/a?b=1&amp;c=2", "https://example.com/a\\|b|c", "https://example.com/(x)\\)",
])
def test_a_link_destination_keeps_the_url_as_entered(url):
    """`url` escapes what a destination would resolve (escapes, entities) and the pipe that would end a cell."""
    from urllib.parse import unquote

    markdown = f"| Link |\n|---|\n| [x]({templating.md_url(url)}) |\n"
    [href] = [t.attrGet("href") for t in exporters.parse(markdown).tokens
              for t in (t.children or ()) if t.type == "link_open"]
    assert unquote(str(href)) == url.strip()
