"""Building blocks shared by the request and response schemas."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, GetJsonSchemaHandler,
    StringConstraints, ValidationInfo, WithJsonSchema, field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError


class JsonPattern:
    """Adds a `pattern` to a type's JSON schema for what a validator checks beyond the schema's own terms.

    The pattern states, on the text as sent, what the server's validation takes (JSON schema patterns
    match anywhere in the text unless anchored); it is not checked by pydantic itself.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


def _lower(value: str) -> str:
    return value.strip().lower()


def _mailbox(value: str) -> str:
    # RFC 5321's bound, which JSON schema's "email" format keeps and email-validator does not.
    if len(value.rpartition("@")[0]) > 64:
        raise ValueError("the part before the @ must be at most 64 characters")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    if _CONTROL.search(value):
        raise ValueError("must be one line, without line breaks or other control characters")
    return value


EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
_YEAR = r"(?:19[7-9][0-9]|2[0-9]{3})"
_MONTH_DAY = r"(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
# The same bounds in the OpenAPI document as on the server: a date is YYYY-MM-DD, a timestamp an ISO 8601
# text with its offset, both with the year (as written) between EARLIEST_YEAR and LATEST_YEAR.
DATE_PATTERN = rf"^{_YEAR}-{_MONTH_DAY}$"
TIMESTAMP_PATTERN = rf"^{_YEAR}-{_MONTH_DAY}[Tt]"
_BOUNDS = f"between the years {EARLIEST_YEAR} and {LATEST_YEAR}"


def _iso_text(kind: str, pattern: str, python_type: type) -> Any:
    """A validator taking only ISO text (or, from Python callers, the value's own type): never a number,
    which pydantic would otherwise read as seconds since 1970."""
    compiled = re.compile(pattern)
    example = "YYYY-MM-DD" if python_type is date else "YYYY-MM-DDTHH:MM:SS with an offset (Z or +HH:MM)"

    def check(value: Any) -> Any:
        if isinstance(value, python_type) and (python_type is datetime or not isinstance(value, datetime)):
            if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
                raise ValueError(f"must be {_BOUNDS}")
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a {kind} written as {example}")
        if not compiled.match(value):
            raise ValueError(f"must be a {kind} written as {example}, {_BOUNDS}")
        return value

    return BeforeValidator(check)


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # pragma: no cover - the year bounds keep this away
        raise ValueError(f"must be {_BOUNDS}") from None


# A calendar date in a request (due dates, periods, snoozes): ISO text, years 1970-2999.
Day = Annotated[
    date,
    _iso_text("date", DATE_PATTERN, date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}, mode="validation"),
]
# A timestamp in a request: ISO text, the offset is required, and it is kept as UTC from then on.
Timestamp = Annotated[
    AwareDatetime,
    _iso_text("timestamp", TIMESTAMP_PATTERN, datetime),
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}, mode="validation"),
]
# A row id as it may appear in a request: ids are 32-bit integers in the database.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _email_of(value: Any) -> Any:
    return getattr(value, "email", value)


# A person in a response: read from a Person (or anything with an `email`), sent as the email address.
EmailOf = Annotated[str, BeforeValidator(_email_of)]


def choice(kind: type[StrEnum], *members: StrEnum) -> Any:
    """A field taking one of `kind`'s values (or only `members`), read as the enum member.

    Validated as a Literal of the values, so the document shows them inline (`"enum": [...]`)
    and a wrong value is refused by name ("Input should be 'SEV0', 'SEV1' or 'SEV2'").
    """
    values = tuple(member.value for member in (members or tuple(kind)))
    return Annotated[Literal[values], AfterValidator(kind)]


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


# email-validator refuses the special-use domains (RFC 6761) that JSON schema's "email" format takes.
_SPECIAL_USE = "|".join(_any_case(name) for name in ("arpa", "invalid", "local", "localhost", "onion", "test"))
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# ASCII addresses as email-validator takes them: a dot-atom, then a domain name with a dot whose
# top-level label ends with a letter and is not a special-use one. (Lookaheads for the lengths
# would make schemathesis's generation crawl; maxLength bounds the whole.)
EMAIL_PATTERN = (
    rf"^{_ATOM}(?:\.{_ATOM})*@(?!(?:[^@]*\.)?(?:{_SPECIAL_USE})$)(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z])?$"
)


class _EmailSchema(JsonPattern):
    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        schema["maxLength"] = 254
        return schema


Email = Annotated[EmailStr, AfterValidator(_lower), AfterValidator(_mailbox), _EmailSchema(EMAIL_PATTERN)]

# The characters pydantic's strip_whitespace removes (Unicode White_Space), spelled out: a JSON
# schema's `\s` is ECMAScript's, which differs (it has \ufeff, not \x85).
WHITE_SPACE = r"\t-\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WS = rf"[{WHITE_SPACE}]"
_SOLID = rf"[^\x00{WHITE_SPACE}]"  # neither white space nor NUL

# Text is stripped, then must not be empty: something other than white space.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), JsonPattern(rf"^[^\x00]*{_SOLID}[^\x00]*$")
]
# One line of text (titles, names): no line breaks or other control characters, since it
# travels into email subjects, Jira summaries and page titles. White space around it is stripped.
LINE_PATTERN = rf"^{_WS}*[^\x00-\x1f\x7f{WHITE_SPACE}](?:[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f{WHITE_SPACE}])?{_WS}*$"
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line), JsonPattern(LINE_PATTERN)
]
# A reason given for an override or a snooze: at least 3 characters once stripped.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=2000),
    JsonPattern(rf"^[^\x00]*{_SOLID}[^\x00]+{_SOLID}[^\x00]*$"),
]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


NUL_FREE_PATTERN = r"^[^\x00]*$"


def _refuse_nul_in_schema(schema: Any) -> None:
    """Give every plain text in a JSON schema the pattern that keeps NUL out (RequestModel refuses it)."""
    if isinstance(schema, list):
        for item in schema:
            _refuse_nul_in_schema(item)
    elif isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
            schema["pattern"] = NUL_FREE_PATTERN
        for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            value = schema.get(key)
            _refuse_nul_in_schema(list(value.values()) if key == "properties" and value else value)


class RequestModel(BaseModel):
    """A request body or query: unknown fields are refused by name, nothing is mass-assigned.

    Text holding NUL characters is refused by field: PostgreSQL cannot store them. The JSON schema
    says so with a pattern on each text that has none (see `_refuse_nul_in_schema`).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        _refuse_nul_in_schema(list(handler.resolve_ref_schema(schema).get("properties", {}).values()))
        return schema

    @field_validator("*", mode="before")
    @classmethod
    def _length_as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        """maxLength counts the text as sent, as the OpenAPI document says, before white space is stripped."""
        limit = _max_lengths(cls).get(info.field_name or "")
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise PydanticCustomError(
                "string_too_long", "String should have at most {max_length} characters", {"max_length": limit}
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


@functools.cache
def _max_lengths(model: type[BaseModel]) -> dict[str, int]:
    """Each text field's maxLength in the model's JSON schema (the field itself, or its non-null option)."""
    limits = {}
    for name, prop in model.model_json_schema(mode="validation").get("properties", {}).items():
        for option in [prop, *prop.get("anyOf", [])]:
            if option.get("type") == "string" and "maxLength" in option:
                limits[name] = option["maxLength"]
    return limits


class UpdateModel(RequestModel):
    """A PATCH body: every field optional, but only those in NULLABLE may be sent as null."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The document says what the server takes: null only for the fields in NULLABLE."""
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.NULLABLE:
                continue
            options = prop.get("anyOf")
            if options and {"type": "null"} in options:
                rest = [option for option in options if option != {"type": "null"}]
                prop.pop("anyOf")
                if len(rest) == 1:
                    prop.update(rest[0])
                else:
                    prop["anyOf"] = rest
            if prop.get("default", ...) is None:
                prop.pop("default")
        return schema

    def null_fields(self) -> list[str]:
        return sorted(
            name for name in self.model_fields_set if getattr(self, name) is None and name not in self.NULLABLE
        )


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers


def whole_number(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """`text` as a whole number from `low` to `high`, or None: ASCII digits only ("²" passes `isdigit`
    but not `int`), so an id or page number typed into an address or a form never becomes a 500."""
    raw = (text or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    number = int(raw)
    return number if low <= number <= high else None
