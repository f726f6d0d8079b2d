"""HTML export: safe HTML rendered from the shared token stream.

Raw HTML in the Markdown is never passed through (the parser has `html` off, so it
arrives as text and is escaped), links other than http, https and mailto never become
links (the parser refuses them), images become plain links (no remote content loads
when the file is opened) and every link opens without access to its opener.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from exporters.common import PARSER, DocumentMeta, ParsedDocument

_STYLE = (
    "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;"
    "padding:0 1rem;color:#1d2330}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #dde2ea;"
    "padding:.3rem .6rem;vertical-align:top;text-align:left}th{background:#f0f2f6}pre{background:#f5f6f8;"
    "padding:.6rem;overflow:auto}code{font-family:ui-monospace,Consolas,monospace}"
)
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


class _SafeRenderer(RendererHTML):
    """markdown-it's HTML renderer with links hardened and images shown as links."""

    def link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        # Built here rather than by setting an attribute: the token stream is shared.
        return f'<a{self.renderAttrs(tokens[idx])} rel="noopener noreferrer nofollow">'

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        src = self.escape(str(token.attrGet("src") or ""))
        alt = self.escape(self.renderInlineAsText(token.children or [], options, env) or src)
        return f'<a href="{src}" rel="noopener noreferrer nofollow">{alt}</a>'

    @staticmethod
    def escape(text: str) -> str:
        from markdown_it.common.utils import escapeHtml

        return escapeHtml(text)


_RENDERER = _SafeRenderer(PARSER)


def to_html_fragment(doc: ParsedDocument) -> str:
    """The document's body as safe HTML, for embedding in a page."""
    env: dict[str, Any] = {}
    return _RENDERER.render(doc.tokens, PARSER.options, env)


def to_html(doc: ParsedDocument, meta: DocumentMeta) -> str:
    """A standalone, safe HTML file of the document."""
    esc = _SafeRenderer.escape
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(meta.title)}</title>",
    ]
    if meta.author:
        head.append(f'<meta name="author" content="{esc(meta.author)}">')
    if meta.description:
        head.append(f'<meta name="description" content="{esc(meta.description)}">')
    if meta.keywords:
        head.append(f'<meta name="keywords" content="{esc(", ".join(meta.keywords))}">')
    head += [f"<style>{_STYLE}</style>", "</head>", "<body>"]
    return "\n".join(head) + "\n" + to_html_fragment(doc) + "</body>\n</html>\n"
