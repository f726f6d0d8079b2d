"""Rendering retro templates into sections, always inside Jinja's immutable sandbox.

Built-in templates are files in templates/documents/ (`<name>.md.j2`); each declares
its sections in order with `{% call section("key", "Title") %}body{% endcall %}`.
Custom templates are stored as a list of sections whose bodies are Jinja. Both see
the same context of plain data (dicts, lists, strings), never ORM objects.

A custom template is checked when it is created (syntax, no reaching for internals,
no include/import, a trial render) and rendered with a budget of time and output:
a template that still fails at render time gives a placeholder, never an error page.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from exporters import clean_text

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "templates" / "documents"
BUILTIN_TEMPLATES = ("standard", "security", "lightweight")
SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

MAX_OUTPUT_CHARS = 200_000
MAX_RENDER_SECONDS = 2.0
MAX_SEQUENCE = 10_000
MAX_EXPONENT = 64

# Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and an
# escaped one is always literal text (never emphasis, code, a link, an entity, a list marker...).
_ASCII_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# Inside a bare URL only the characters that can start inline markup or end a table cell are
# escaped, so the URL stays readable in the Markdown; the rest cannot mean anything mid-line.
_BARE_URL = re.compile(r"(?:https?://|mailto:)\S+", re.IGNORECASE)
_URL_MARKUP = re.compile(r"([!&*<>\[\\\]_`|~])")
_PIPES = re.compile(r"(\\*)\|")


def md_inline(value: Any) -> str:
    """A single-line fact (a title, a name, a timeline entry) as literal Markdown text.

    Characters XML cannot hold (which every export drops) are dropped first, then whitespace
    runs become one space and the ends are trimmed (`" ".join(text.split())`);
    every ASCII punctuation character is backslash-escaped, so the text reads exactly as
    entered in every export, in a paragraph, a list item, a heading or a table cell (a
    pipe is escaped, and so is each backslash before it, so it never ends the cell).
    Bare URLs keep their `:/.?=#-` unescaped to stay readable; they are still plain text.
    """
    if value is None:
        return ""
    line = " ".join(clean_text(str(value)).split())
    out: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(line):
        out.append(_ASCII_PUNCTUATION.sub(r"\\\1", line[position:match.start()]))
        out.append(_URL_MARKUP.sub(r"\\\1", match.group(0)))
        position = match.end()
    out.append(_ASCII_PUNCTUATION.sub(r"\\\1", line[position:]))
    return "".join(out)


def md_cell(value: Any) -> str:
    """Free text (Markdown kept) made safe for one table cell: one line, every pipe literal.

    A pipe already escaped by the author stays as it is; one after an escaped
    backslash (`\\\\|`) gets its own escape, or it would end the cell.
    """
    if not value:
        return ""
    line = " ".join(str(value).split())
    return _PIPES.sub(lambda m: m.group(1) + ("\\|" if len(m.group(1)) % 2 == 0 else "|"), line)


def md_url(value: Any) -> str:
    """A URL as a Markdown link destination, kept as it is.

    Angle brackets keep parentheses and spaces inside; backslashes, `&` and `|` are escaped
    (a destination resolves escapes and entities, and a pipe would end a table cell).
    """
    text = str(value or "").replace("\r", "").replace("\n", "").strip()
    text = text.replace("\\", "\\\\").replace("&", "\\&").replace("|", "\\|")
    return "<" + text.replace("<", "%3C").replace(">", "%3E") + ">"


# The end of the current render's time budget; checked on every attribute, item, call and
# range step, so a template that loops without writing anything is stopped too.
_deadline: ContextVar[float | None] = ContextVar("template_deadline", default=None)


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise SecurityError(f"the section takes longer than {MAX_RENDER_SECONDS:g} s to render")


class DocumentSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, also refusing the arithmetic that would exhaust memory, and slow renders."""

    intercepted_binops = frozenset({"*", "**"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every loop walks its items through `_timed_items`, so a loop that writes nothing and
        # touches nothing is still held to the render's time budget.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, TIMED_FILTER, [], [], None, None, lineno=loop.lineno)
        return tree

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_time()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        _check_time()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed in templates")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    if len(sequence) * times > MAX_OUTPUT_CHARS:
                        raise SecurityError("repeating a value that many times is not allowed in templates")
        return super().call_binop(context, operator, left, right)


def _limited_range(*args: int) -> Iterator[int]:
    result = range(*args)
    if len(result) > MAX_SEQUENCE:
        raise SecurityError(f"range() is limited to {MAX_SEQUENCE} items in templates")
    return _timed(result)


def _timed(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        _check_time()
        yield value


TIMED_FILTER = "_timed_items"


def _environment(loader: FileSystemLoader | None) -> DocumentSandbox:
    env = DocumentSandbox(
        loader=loader,
        autoescape=False,  # the output is Markdown; exporters make it safe per format
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Only harmless helpers stay global: no cycler, joiner or lipsum objects to poke at.
    env.globals = {"range": _limited_range, "dict": dict, "namespace": env.globals["namespace"]}
    env.filters.update({"inline": md_inline, "cell": md_cell, "url": md_url, TIMED_FILTER: _timed})
    return env


_BUILTIN_ENV = _environment(FileSystemLoader(str(BUILTIN_DIR)))
_CUSTOM_ENV = _environment(None)


@dataclass(frozen=True)
class RenderedSection:
    key: str
    title: str
    body: str


class _Collector:
    """Receives the sections a built-in template declares, in order."""

    def __init__(self) -> None:
        self.sections: list[RenderedSection] = []

    def section(self, key: str, title: str, caller: Any = None) -> str:
        body = caller() if caller is not None else ""
        self.sections.append(RenderedSection(str(key), str(title), str(body).strip("\n")))
        return ""


def builtin_source(name: str) -> str:
    """The Jinja source of a built-in template."""
    return (BUILTIN_DIR / f"{name}.md.j2").read_text(encoding="utf-8")


def render_builtin(name: str, context: Mapping[str, Any]) -> list[RenderedSection]:
    """The sections of built-in template `name`, rendered with `context`."""
    collector = _Collector()
    template = _BUILTIN_ENV.get_template(f"{name}.md.j2")
    template.render({**context, "section": collector.section})
    return collector.sections


def render_body(source: str, context: Mapping[str, Any]) -> str:
    """One custom section body, rendered in the sandbox within the time and output budget.

    Raises TemplateError (SecurityError included) when the template misbehaves.
    """
    template = _CUSTOM_ENV.from_string(source)
    token = _deadline.set(time.monotonic() + MAX_RENDER_SECONDS)
    try:
        size = 0
        parts: list[str] = []
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise SecurityError(f"the section renders to more than {MAX_OUTPUT_CHARS} characters")
            _check_time()
            parts.append(chunk)
        return "".join(parts).strip("\n")
    finally:
        _deadline.reset(token)


def render_body_safely(source: str, context: Mapping[str, Any], *, where: str) -> str:
    """Like render_body, but a failing template gives a visible placeholder instead of an error."""
    try:
        return render_body(source, context)
    except Exception as exc:  # noqa: BLE001 - a custom template must never break booking a retro
        log.warning("template section %s could not be rendered: %s: %s", where, type(exc).__name__, exc)
        return f"*This section's template could not be rendered ({type(exc).__name__}); write the section here.*"


def render_custom(sections: Iterable[Mapping[str, str]], context: Mapping[str, Any], *, name: str) -> list[RenderedSection]:
    """The sections of a stored custom template."""
    return [
        RenderedSection(
            section["key"], section["title"],
            render_body_safely(section["body"], context, where=f"{name}.{section['key']}"),
        )
        for section in sections
    ]


def check_source(source: str, sample: Mapping[str, Any]) -> str | None:
    """Why a custom section body is refused, or None if it may be stored.

    Refused: syntax errors, any reach for attributes or items named with an
    underscore (the way out of every sandbox escape), the `attr` filter,
    include/import/extends, and anything that fails a trial render in the sandbox.
    """
    try:
        tree = _CUSTOM_ENV.parse(source)
    except TemplateSyntaxError as exc:
        return f"is not a valid template (line {exc.lineno}): {exc.message}"
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Const, nodes.Filter, nodes.Include,
                                nodes.Import, nodes.FromImport, nodes.Extends, nodes.Name)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            return f"reaches for an internal attribute ({node.attr}); templates may only use the data they are given"
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and "__" in node.value:
            return "contains a double-underscore name; templates may only use the data they are given"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            return f"reaches for an internal item ({node.arg.value}); templates may only use the data they are given"
        if isinstance(node, nodes.Filter) and node.name == "attr":
            return "uses the attr filter, which is not allowed in templates"
        if isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            return "includes or imports another template, which custom templates may not do"
        if isinstance(node, nodes.Name) and node.name == "self":
            return "uses `self`, which is not allowed in templates"
    try:
        render_body(source, sample)
    except SecurityError as exc:
        return f"is refused by the sandbox: {exc}"
    except Exception as exc:  # noqa: BLE001 - anything a trial render raises is a reason to refuse
        return f"fails to render: {type(exc).__name__}: {exc}"
    return None
