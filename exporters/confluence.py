"""Confluence storage format: well-formed XHTML with Confluence's `ac:` macros, from the shared token stream."""

from __future__ import annotations

import re
from html import escape

from markdown_it.token import Token

from exporters.common import DocumentMeta, ParsedDocument, plain_text

# Languages Confluence's code macro knows, by the names people write after ``` .
_LANGUAGES = {
    "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash", "zsh": "bash",
    "python": "python", "py": "python", "java": "java", "javascript": "javascript", "js": "javascript",
    "typescript": "javascript", "ts": "javascript", "json": "javascript", "sql": "sql", "xml": "xml",
    "html": "html", "css": "css", "yaml": "yaml", "yml": "yaml", "go": "go", "ruby": "ruby", "rb": "ruby",
    "csharp": "csharp", "c#": "csharp", "cpp": "cpp", "c++": "cpp", "c": "cpp", "diff": "diff",
    "patch": "diff", "powershell": "powershell", "ps1": "powershell", "text": "text", "plain": "text",
    "kotlin": "kotlin", "scala": "scala", "php": "php", "perl": "perl", "swift": "swift", "rust": "rust",
}
_CODE_FENCE_WORD = re.compile(r"\S+")


def _text(value: str) -> str:
    return escape(value, quote=False)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _cdata(text: str) -> str:
    """Text as CDATA; a `]]>` inside is split across two sections, the only way CDATA can hold it."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def code_macro(code: str, language: str = "") -> str:
    """Confluence's `code` macro around `code`, with the language if Confluence knows it."""
    word = _CODE_FENCE_WORD.match(language.strip())
    name = _LANGUAGES.get(word.group(0).lower()) if word else None
    parameter = f'<ac:parameter ac:name="language">{name}</ac:parameter>' if name else ""
    return (
        f'<ac:structured-macro ac:name="code">{parameter}'
        f"<ac:plain-text-body>{_cdata(code.rstrip(chr(10)))}</ac:plain-text-body></ac:structured-macro>"
    )


def status_macro(title: str, colour: str) -> str:
    """Confluence's `status` lozenge."""
    return (
        '<ac:structured-macro ac:name="status">'
        f'<ac:parameter ac:name="colour">{_attr(colour)}</ac:parameter>'
        f'<ac:parameter ac:name="title">{_text(title.upper())}</ac:parameter>'
        "</ac:structured-macro>"
    )


# Inline tokens that always become the same markup.
_FIXED_INLINE = {
    "softbreak": "\n",
    "hardbreak": "<br />",
    "strong_open": "<strong>",
    "strong_close": "</strong>",
    "em_open": "<em>",
    "em_close": "</em>",
    "s_open": '<span style="text-decoration: line-through;">',
    "s_close": "</span>",
}


def _inline(token: Token) -> str:
    parts: list[str] = []
    append = parts.append
    for child in token.children or ():
        kind = child.type
        if kind == "text":
            append(_text(child.content))
        elif kind == "code_inline":
            append(f"<code>{_text(child.content)}</code>")
        elif kind in _FIXED_INLINE:
            append(_FIXED_INLINE[kind])
        elif kind == "link_open":
            append(f'<a href="{_attr(str(child.attrGet("href") or ""))}">')
        elif kind == "link_close":
            append("</a>")
        elif kind == "image":
            # Remote images are shown as links: nothing loads from elsewhere.
            src = str(child.attrGet("src") or "")
            append(f'<a href="{_attr(src)}">{_text(child.content or src)}</a>')
    return "".join(parts)


def to_confluence(doc: ParsedDocument, meta: DocumentMeta, *, drop_title: bool = True) -> str:
    """The document in Confluence storage format.

    A leading `# title` is left out when `drop_title` (the page has its own title).
    Cells of the column named `meta.status_column` that hold a known status become
    `status` lozenges; fenced and indented code becomes the `code` macro.
    """
    tokens = doc.tokens
    out: list[str] = []
    append = out.append
    count = len(tokens)
    index = 0
    if drop_title and count >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        index = 3
    in_head = False
    headers: list[str] = []
    status_col = -1
    column = 0
    while index < count:
        token = tokens[index]
        kind = token.type
        if kind == "inline":
            append(_inline(token))
        elif kind == "paragraph_open":
            if not token.hidden:
                append("<p>")
        elif kind == "paragraph_close":
            if not token.hidden:
                append("</p>")
        elif kind == "td_open":
            append("<td>")
            if column == status_col and index + 1 < count and tokens[index + 1].type == "inline":
                text = plain_text(tokens[index + 1])
                colour = meta.colour_of(text)
                if colour is not None:
                    append(status_macro(text.strip(), colour))
                    index += 1
            column += 1
        elif kind == "td_close":
            append("</td>")
        elif kind == "tr_open":
            append("<tr>")
            column = 0
        elif kind == "tr_close":
            append("</tr>")
        elif kind == "th_open":
            append("<th>")
            if in_head and index + 1 < count and tokens[index + 1].type == "inline":
                headers.append(plain_text(tokens[index + 1]).strip().lower())
        elif kind == "th_close":
            append("</th>")
        elif kind == "thead_open":
            in_head = True
            headers = []
        elif kind == "thead_close":
            in_head = False
            wanted = meta.status_column.strip().lower()
            status_col = headers.index(wanted) if wanted and wanted in headers else -1
        elif kind == "table_open":
            append("<table><tbody>")
        elif kind == "table_close":
            append("</tbody></table>")
            status_col = -1
        elif kind in ("tbody_open", "tbody_close"):
            pass
        elif kind == "heading_open":
            append(f"<{token.tag}>")
        elif kind == "heading_close":
            append(f"</{token.tag}>")
        elif kind == "bullet_list_open":
            append("<ul>")
        elif kind == "bullet_list_close":
            append("</ul>")
        elif kind == "ordered_list_open":
            start = token.attrGet("start")
            append(f'<ol start="{int(start)}">' if start not in (None, 1, "1") else "<ol>")
        elif kind == "ordered_list_close":
            append("</ol>")
        elif kind == "list_item_open":
            append("<li>")
        elif kind == "list_item_close":
            append("</li>")
        elif kind == "blockquote_open":
            append("<blockquote>")
        elif kind == "blockquote_close":
            append("</blockquote>")
        elif kind == "fence":
            append(code_macro(token.content, token.info))
        elif kind == "code_block":
            append(code_macro(token.content))
        elif kind == "hr":
            append("<hr />")
        index += 1
    return "".join(out)
