"""What a person typed in the search box, read once and written out for each database's full-text search.

The syntax is PostgreSQL's `websearch_to_tsquery`, read the same way on both databases: words must
all be found, `"a phrase"` in that order, `or` between words for either, `-word` to leave out. Any
other character is a word separator (parentheses, `*`, `AND`, `:` have no meaning), so nothing a
person types can be a syntax error. English stop words ("the", "and", "not") are dropped, as
PostgreSQL's 'english' configuration drops them; what is left is written out as an FTS5 MATCH
expression (every word quoted) and as a `websearch_to_tsquery` text that PostgreSQL reads the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# PostgreSQL's 'english' stop words (tsearch_data/english.stop): what its text search drops.
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself it
its itself they them their theirs themselves what which who whom this that these those am is are was were be been
being have has had having do does did doing a an the and but if or because as until while of at by for with about
against between into through during before after above below to from up down in out on off over under again further
then once here there when where why how all any both each few more most other some such no nor not only own same so
than too very s t can will just don should now
""".split())

# A token as SQLite's unicode61 tokenizer sees it: letters and digits (an underscore separates).
_TOKEN = re.compile(r"[^\W_]+")
# A phrase in quotes (the closing quote may be missing), or a run of anything but white space and quotes.
_ITEM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


@dataclass(frozen=True)
class Term:
    """A word or a phrase: `text` as typed (no white space or quotes inside a word), `tokens` its words."""

    text: str
    tokens: tuple[str, ...]
    phrase: bool
    negated: bool


@dataclass(frozen=True)
class SearchTerms:
    """Alternatives (`or`), each a list of terms that must all be found (the negated ones must not)."""

    groups: tuple[tuple[Term, ...], ...]

    @property
    def empty(self) -> bool:
        """Nothing searchable was typed: no words, only stop words, or only words to leave out."""
        return not self.groups

    def fts5(self) -> str:
        """The FTS5 MATCH expression: every term a quoted phrase of its tokens, so no FTS5 syntax gets in."""
        alternatives = []
        for group in self.groups:
            wanted = " AND ".join(_quoted(term) for term in group if not term.negated)
            unwanted = "".join(f" NOT {_quoted(term)}" for term in group if term.negated)
            alternatives.append(f"(({wanted}){unwanted})")
        return " OR ".join(alternatives)

    def websearch(self) -> str:
        """The text for `websearch_to_tsquery`: the same terms, written as that function reads them."""
        alternatives = []
        for group in self.groups:
            parts = []
            for term in group:
                text = f'"{term.text}"' if term.phrase else term.text
                parts.append(f"-{text}" if term.negated else text)
            alternatives.append(" ".join(parts))
        return " or ".join(alternatives)


def _quoted(term: Term) -> str:
    return '"' + " ".join(term.tokens) + '"'


def _term(text: str, *, phrase: bool, negated: bool) -> Term | None:
    tokens = tuple(_TOKEN.findall(text))
    if not tokens or all(token.lower() in STOP_WORDS for token in tokens):
        return None
    if phrase:
        text = " ".join(text.split())
    return Term(text=text, tokens=tokens, phrase=phrase or len(tokens) > 1, negated=negated)


def parse(text: str) -> SearchTerms:
    """Read what was typed; words that carry nothing searchable are dropped, never an error."""
    groups: list[list[Term]] = [[]]
    for match in _ITEM.finditer(text):
        quoted = match.group(2) is not None
        body = match.group(2) if quoted else match.group(4)
        negated = bool(match.group(1) if quoted else match.group(3))
        if not quoted and not negated and body.lower() == "or":
            groups.append([])
            continue
        term = _term(body, phrase=quoted, negated=negated)
        if term is not None:
            groups[-1].append(term)
    # An alternative with nothing to find would match almost everything: it is left out.
    kept = tuple(tuple(group) for group in groups if any(not term.negated for term in group))
    return SearchTerms(groups=kept)
