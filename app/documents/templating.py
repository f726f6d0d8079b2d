"""Rendering retro templates into sections, always inside Jinja's immutable sandbox.

Built-in templates are files in templates/documents/ (`<name>.md.j2`); each declares
its sections in order with `{% call section("key", "Title", prompt="A question?") %}body{% endcall %}`:
the body is prefilled content, the prompt (optional) is a question shown to the people
writing the section, never part of its text. Custom templates are stored as a list of
sections whose bodies are Jinja (and whose prompts are plain text). Both see
the same context of plain data (dicts, lists, strings), never ORM objects.

A custom template is checked when it is created (syntax, no reaching for internals,
no include/import, a trial render) and rendered with a budget of time and output:
a template that still fails at render time gives a placeholder, never an error page.
Custom templates render in a child process (see isolation.py) held to the time budget
and a memory limit as a whole; the checks between operations stay, for their clearer
messages. Built-in templates are our own files and render in the calling process.
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

from app.documents.isolation import Limits, Stop, run_limited
from exporters import clean_text

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "templates" / "documents"
BUILTIN_TEMPLATES = ("standard", "security", "lightweight")
SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

MAX_OUTPUT_CHARS = 200_000
MAX_RENDER_SECONDS = Limits().seconds
MAX_SEQUENCE = 10_000
MAX_EXPONENT = 64
MAX_PROMPT_CHARS = 500

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
_budget: ContextVar[float] = ContextVar("template_budget", default=MAX_RENDER_SECONDS)  # for the message


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise SecurityError(f"the template takes longer than {_budget.get():g} s to render")


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
    prompt: str = ""  # shown as a placeholder while the section is empty; never in the body or an export


class _Collector:
    """Receives the sections a built-in template declares, in order."""

    def __init__(self) -> None:
        self.sections: list[RenderedSection] = []

    def section(self, key: str, title: str, prompt: str = "", caller: Any = None) -> str:
        body = caller() if caller is not None else ""
        self.sections.append(RenderedSection(str(key), str(title), str(body).strip("\n"), prompt_text(prompt)))
        return ""


def prompt_text(value: Any) -> str:
    """A section's prompt as one line of plain text (a placeholder cannot show line breaks)."""
    return " ".join(clean_text(str(value or "")).split())[:MAX_PROMPT_CHARS]


def builtin_source(name: str) -> str:
    """The Jinja source of a built-in template."""
    return (BUILTIN_DIR / f"{name}.md.j2").read_text(encoding="utf-8")


def render_builtin(name: str, context: Mapping[str, Any]) -> list[RenderedSection]:
    """The sections of built-in template `name`, rendered with `context`."""
    collector = _Collector()
    template = _BUILTIN_ENV.get_template(f"{name}.md.j2")
    template.render({**context, "section": collector.section})
    return collector.sections


def render_body(source: str, context: Mapping[str, Any], *, seconds: float = MAX_RENDER_SECONDS,
                deadline: float | None = None) -> str:
    """One custom section body, rendered in the sandbox in this process within the time and output budget.

    The budget is `seconds` from now, or ends at `deadline` (time.monotonic()) when several
    sections share one. Raises TemplateError (SecurityError included) when the template
    misbehaves. Only the checks between operations hold it to its budget: anything a
    person wrote goes through render_custom or check_source, which render in a limited process.
    """
    template = _CUSTOM_ENV.from_string(source)
    token = _deadline.set(deadline if deadline is not None else time.monotonic() + seconds)
    budget_token = _budget.set(seconds)
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
        _budget.reset(budget_token)
        _deadline.reset(token)


@dataclass(frozen=True)
class BodyResult:
    """How one section body rendered: its text, or why not (`reason` in a few words, `problem` in full)."""

    body: str | None = None
    reason: str = ""
    problem: str = ""


_MAX_PROBLEM_CHARS = 500


def _render_bodies(sources: list[str], context: Mapping[str, Any], seconds: float, *,
                   deadline: float) -> Iterator[dict[str, str | None]]:
    """Runs in the render process: each body in turn, all within one budget of `seconds` ending at `deadline`."""
    for source in sources:
        try:
            yield {"body": render_body(source, context, seconds=seconds, deadline=deadline)}
        except MemoryError:
            raise  # the process is out of memory: the parent says so for this section
        except SecurityError as exc:
            reason = f"it took too long to render, over {seconds:g} s" if time.monotonic() > deadline else "SecurityError"
            yield {"reason": reason, "problem": f"is refused by the sandbox: {exc}"[:_MAX_PROBLEM_CHARS]}
        except Exception as exc:  # noqa: BLE001 - whatever a template raises is a reason to refuse it
            name = type(exc).__name__
            yield {"reason": name, "problem": f"fails to render: {name}: {exc}"[:_MAX_PROBLEM_CHARS]}
        if time.monotonic() > deadline:
            return  # the budget is spent: the bodies left are not tried


def _body_result(item: Any) -> BodyResult:
    """A result as the render process sent it (plain JSON), checked field by field."""
    fields = item if isinstance(item, dict) else {}
    body, reason, problem = fields.get("body"), fields.get("reason"), fields.get("problem")
    if isinstance(body, str):
        return BodyResult(body=body)
    if isinstance(reason, str) and isinstance(problem, str):
        return BodyResult(reason=reason[:_MAX_PROBLEM_CHARS], problem=problem[:_MAX_PROBLEM_CHARS])
    return BodyResult(reason="its render process answered nonsense",
                      problem="could not be rendered: its render process answered nonsense")


def _stopped(stop: Stop, limits: Limits) -> BodyResult:
    if stop is Stop.TIME:
        return BodyResult(
            reason=f"it took too long to render, over {limits.seconds:g} s",
            problem=f"takes too long to render (over {limits.seconds:g} s); simplify its loops or arithmetic",
        )
    if stop is Stop.MEMORY:
        return BodyResult(
            reason=f"it used too much memory, over {limits.memory_mb} MB",
            problem=f"uses too much memory to render (over {limits.memory_mb} MB); make the values it builds smaller",
        )
    return BodyResult(reason="its render process stopped unexpectedly",
                      problem="could not be rendered: its render process stopped unexpectedly")


# A body after the one that used up the budget was never tried: nothing is known against it.
_NOT_TRIED = BodyResult(reason="an earlier section used up the template's time or memory")


def render_bodies(sources: Iterable[str], context: Mapping[str, Any], *, limits: Limits = Limits()) -> list[BodyResult]:
    """Custom section bodies rendered in a separate process, all within one time budget and memory limit.

    A body that fails says why; one that exhausts the time or memory says so, and the
    bodies after it are not tried. Never raises for what a template does.
    """
    sources = list(sources)
    if not sources:
        return []
    outcome = run_limited(_render_bodies, (sources, dict(context), limits.seconds), limits=limits)
    results = [_body_result(item) for item in outcome.items[:len(sources)]]
    if len(results) < len(sources) and outcome.stop is not Stop.FINISHED:
        log.warning("a custom template's render stopped (%s, exit code %s) at section %d of %d",
                    outcome.stop.value, outcome.exitcode, len(results) + 1, len(sources))
        results.append(_stopped(outcome.stop, limits))
    return results + [_NOT_TRIED] * (len(sources) - len(results))


def placeholder(result: BodyResult) -> str:
    """What a section shows instead of a body its template could not render."""
    return f"*This section's template could not be rendered ({result.reason}); write the section here.*"


def render_custom(sections: Iterable[Mapping[str, str]], context: Mapping[str, Any], *, name: str,
                  limits: Limits = Limits()) -> list[RenderedSection]:
    """The sections of a stored custom template; a body that cannot be rendered gives a placeholder.

    A section's `prompt` is plain text, taken as stored (it is never rendered as Jinja).
    """
    sections = list(sections)
    rendered = []
    for section, result in zip(sections, render_bodies([s["body"] for s in sections], context, limits=limits)):
        if result.problem:
            log.warning("template section %s.%s could not be rendered: %s", name, section["key"], result.problem)
        body = result.body if result.body is not None else placeholder(result)
        rendered.append(RenderedSection(section["key"], section["title"], body, prompt_text(section.get("prompt"))))
    return rendered


def _static_problem(source: str) -> str | None:
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
    return None


def check_sources(sources: Iterable[str], sample: Mapping[str, Any], *, limits: Limits = Limits()) -> list[str | None]:
    """Why each custom section body is refused, or None where it may be stored.

    Refused: syntax errors, any reach for attributes or items named with an
    underscore (the way out of every sandbox escape), the `attr` filter,
    include/import/extends, and anything that fails a trial render of the bodies
    together (in the render process, within the limits a retro's render has).
    """
    sources = list(sources)
    problems = [_static_problem(source) for source in sources]
    trial = [number for number, problem in enumerate(problems) if problem is None]
    for number, result in zip(trial, render_bodies([sources[n] for n in trial], sample, limits=limits)):
        problems[number] = result.problem or None
    return problems


def check_source(source: str, sample: Mapping[str, Any], *, limits: Limits = Limits()) -> str | None:
    """Why one custom section body is refused, or None if it may be stored (see check_sources)."""
    return check_sources([source], sample, limits=limits)[0]
