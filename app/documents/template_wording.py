"""What the template pages say for the API's refusals of a template, section by section.

A refused section is named by its place (counted from 1) and its title, and the reason is said
in words a template's author can act on ("Section 3, What went well: the template uses something
templates may not use (line 4)"); the sandbox's own text and Python's exception names never
reach the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.core.errors import HindsightError
from app.core.wording import PageError, in_words, says

# The form's fields, in words (field notes are keyed by these names).
NAME_NOTE = "Use 2 to 64 characters: lowercase letters, digits, - and _, starting with a letter or a digit."
TITLE_NOTE = "Give a title on one line, up to 200 characters."
DESCRIPTION_NOTE = "Up to 2,000 characters."
KEY_NOTE = "Use lowercase letters, digits and _, starting with a letter (for example what_went_well)."
SECTION_TITLE_NOTE = "Give the section a title on one line, up to 200 characters."
BODY_NOTE = "The text is longer than 50,000 characters."
MISSING_NOTE = "Fill this in."

MAY_NOT_USE = "the template uses something templates may not use"
_LINE = re.compile(r"\(line (\d+)\)")
_SECTION_FIELD = re.compile(r"^sections\.(\d+)\.(key|title|body)$")
_API_LOOKING = re.compile(r"[a-z]+_[a-z_]+|Error\b|Exception\b|Traceback|__")


def section_name(position: int, title: str) -> str:
    """"Section 3, What went well": a section by its place counted from 1, and its title when it has one."""
    return f"Section {position}, {title}" if title.strip() else f"Section {position}"


def problem_in_words(problem: str, source: str) -> str:
    """A reason `templating.check_sources` gave for refusing `source`, said for the template's author."""
    if problem.startswith("is not a valid template"):
        line = _LINE.search(problem)
        detail = problem.partition("): ")[2].strip().rstrip(".")
        said = "the template is not written correctly" + (f" (line {line.group(1)})" if line else "")
        if detail and not _API_LOOKING.search(detail) and len(detail) <= 200:
            said += f": {detail[:1].lower()}{detail[1:]}"
        return said
    if "takes too long" in problem or "longer than" in problem or "took too long" in problem:
        return "the template takes too long to fill in; make its loops shorter"
    if "too much memory" in problem:
        return "the template needs too much memory to fill in; make the values it builds smaller"
    if "renders to more than" in problem or "that many times" in problem:
        return "the template writes far too much text"
    if "range() is limited" in problem:
        return "the template counts too far with range (at most 10,000)"
    if "exponents above" in problem:
        return "the template raises a number to too high a power"
    if problem.startswith("fails to render"):
        return "the template stops with an error when it is filled in; check what it does with each value"
    if problem.startswith("could not be rendered"):
        return "the template could not be tried just now; try again"
    return MAY_NOT_USE + _line_of(problem, source)


def _line_of(problem: str, source: str) -> str:
    """" (line 4)": where in `source` the thing the problem names first appears, when it can be found."""
    named = re.search(r"internal (?:attribute|item) \(([^)]+)\)", problem)
    needles = []
    if "internal attribute" in problem or "internal item" in problem:
        needles = [named.group(1)] if named else []
    elif "double-underscore" in problem or "refused by the sandbox" in problem:
        needles = ["__"]
    elif "attr filter" in problem:
        needles = ["attr("]
    elif "includes or imports" in problem:
        needles = ["include", "import", "extends"]
    elif "self" in problem:
        needles = ["self"]
    for number, line in enumerate(source.splitlines(), start=1):
        if any(needle in line for needle in needles):
            return f" (line {number})"
    return ""


def _field_note(field: str, message: str) -> str:
    if message in ("is required", "may not be null") or "at least 1 character" in message:
        return MISSING_NOTE
    return {"name": NAME_NOTE, "title": TITLE_NOTE, "description": DESCRIPTION_NOTE, "key": KEY_NOTE,
            "section_title": SECTION_TITLE_NOTE, "body": BODY_NOTE}[field]


def template_error(error: HindsightError, sections: Sequence[Mapping[str, str]]) -> PageError:
    """`error` from saving a template, as the form shows it.

    `sections` are the form's sections in the order they were sent (each with `key`,
    `title`, `body`); notes are keyed by the form's field names: `name`, `title`,
    `description`, `sections` and `section-3-body` (counted from 1).
    """
    said = in_words(error, sections=sections)
    notes: dict[str, str] = {}
    for name, message in error.fields.items():
        indexed = _SECTION_FIELD.match(name)
        if indexed:
            number, part = int(indexed.group(1)) + 1, indexed.group(2)
            if part == "body" and error.code == "unsafe_template":
                notes[f"section-{number}-body"] = _capital(problem_in_words(message, _source(sections, number)))
            else:
                notes[f"section-{number}-{part}"] = _field_note("section_title" if part == "title" else part, message)
        elif name == "sections" and "used twice" in message:
            for number in _repeated_keys(sections):
                notes[f"section-{number}-key"] = "Another section above has this key; each section needs its own."
        elif name == "sections":
            notes["sections"] = ("A template has at least one section." if "at least" in message
                                 else "A template has at most 50 sections.")
        elif name in ("name", "title", "description"):
            notes[name] = (message[:1].upper() + message[1:] + "." if error.code == "duplicate_template"
                           else _field_note(name, message))
    return PageError(code=said.code, message=said.message, fields=notes)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _source(sections: Sequence[Mapping[str, str]], number: int) -> str:
    return sections[number - 1].get("body", "") if 0 < number <= len(sections) else ""


def _repeated_keys(sections: Sequence[Mapping[str, str]]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for number, section in enumerate(sections, start=1):
        if section.get("key") in seen:
            repeated.append(number)
        seen.add(section.get("key", ""))
    return repeated


def refusals(problems: Sequence[str | None], sections: Sequence[Mapping[str, str]]) -> list[str]:
    """"Section 3, What went well: the template uses something templates may not use (line 4)", one a refused body."""
    return [
        f"{section_name(number, section.get('title', ''))}: {problem_in_words(problem, section.get('body', ''))}"
        for number, (problem, section) in enumerate(zip(problems, sections), start=1) if problem
    ]


def refusal_notes(problems: Sequence[str | None], sections: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The note beside each refused body: its form field (`section-3-body`) and the reason in words."""
    return {
        f"section-{number}-body": _capital(problem_in_words(problem, section.get("body", "")))
        for number, (problem, section) in enumerate(zip(problems, sections), start=1) if problem
    }


def _unsafe(error: HindsightError, facts: Mapping[str, Any]) -> str:
    sections = facts.get("sections") or []
    problems: list[str | None] = [None] * len(sections)
    for name, message in error.fields.items():
        indexed = _SECTION_FIELD.match(name)
        if indexed and int(indexed.group(1)) < len(sections):
            problems[int(indexed.group(1))] = message
    said = refusals(problems, sections)
    if not said:
        return "Some sections use something templates may not use: see the notes beside them."
    return "The template is not saved. " + "; ".join(said) + "."


says("unsafe_template", _unsafe)
says("duplicate_template", "There is already a template with this name: choose another one.")
says("builtin_template", "Built-in templates cannot be changed. Make a custom template instead.")
says("template_renamed", "A template's name cannot be changed. Make a new template instead.")
