"""Reading what was typed: the same terms for FTS5 and for websearch_to_tsquery, never a syntax error."""

import pytest

from app.search.service import marked
from app.search.terms import parse


@pytest.mark.parametrize("typed,fts5,websearch", [
    ("disk full", '(("disk" AND "full"))', "disk full"),
    ('"disk full" -staging', '(("disk full") NOT "staging")', '"disk full" -staging'),
    ("disk or cpu", '(("disk")) OR (("cpu"))', "disk or cpu"),
    ("checkout-api", '(("checkout api"))', '"checkout-api"'),
    ("(fail* AND x)", '(("fail" AND "x"))', "(fail* x)"),
    ('say "NEAR(a b)', '(("say" AND "NEAR a b"))', 'say "NEAR(a b)"'),
    ("Störung", '(("Störung"))', "Störung"),
])
def test_terms_are_written_out_for_both_databases(typed, fts5, websearch):
    terms = parse(typed)
    assert terms.fts5() == fts5
    assert terms.websearch() == websearch


@pytest.mark.parametrize("typed", ["", "the and of", "-staging", "or", '"', "* ( ) -", "🔥", "don't", '"to be"'])
def test_nothing_searchable_is_empty(typed):
    assert parse(typed).empty


def test_an_alternative_of_only_words_to_leave_out_is_dropped():
    assert parse("-staging or disk").websearch() == "disk"


@pytest.mark.parametrize("snippet,html", [
    ("a \x02b\x03 <c>", "a <mark>b</mark> &lt;c&gt;"),
    ("\x02a\x03 \x02b\x03", "<mark>a b</mark>"),
    ("\x03a \x02b", "a <mark>b</mark>"),  # a stray stop is dropped, an open mark is closed
    ("\x02\x02a\x03\x03", "<mark>a</mark>"),
    ('"&\'', "&#34;&amp;&#39;"),
])
def test_snippets_are_escaped_then_marked(snippet, html):
    assert str(marked(snippet)) == html
