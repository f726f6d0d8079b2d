"""Markdown export: the canonical text, normalised along the block structure of the token stream."""

from __future__ import annotations

from exporters.common import ParsedDocument


def to_markdown(doc: ParsedDocument) -> str:
    """The document as normalised Markdown.

    Each top-level block is copied verbatim from the source (so every inline format
    the author wrote survives), blocks are separated by exactly one blank line, lines
    that hold only whitespace are emptied, and the text ends with one newline. Lines
    no block claims but that hold text (link reference definitions) are kept.
    """
    lines = doc.source.split("\n")
    blocks: list[str] = []
    position = 0
    for token in doc.blocks:
        if token.level != 0 or token.nesting < 0 or token.map is None:
            continue
        start, end = token.map
        if start < position:
            continue
        gap = [line.rstrip() for line in lines[position:start] if line.strip()]
        if gap:
            blocks.append("\n".join(gap))
        blocks.append("\n".join(line if line.strip() else "" for line in lines[start:end]).rstrip("\n"))
        position = end
    tail = [line.rstrip() for line in lines[position:] if line.strip()]
    if tail:
        blocks.append("\n".join(tail))
    return "\n\n".join(blocks) + "\n" if blocks else ""
