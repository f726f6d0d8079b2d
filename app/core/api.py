"""The JSON API's edge: parse and validate input, authenticate, serialise, commit once.

A view decorated with `endpoint(...)` receives validated `body` / `query` objects,
calls a service and returns a pydantic model, a dict, or `(value, status)`. The
decorator commits the request's transaction after the value has been serialised,
and records what it needs for the generated OpenAPI document.
"""

from __future__ import annotations

import functools
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, g, jsonify, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.core.errors import BadRequest, Forbidden, InsufficientScope, OutsideFailure, Unauthorized, ValidationFailed
from app.core.schemas import UpdateModel
from app.db import commit, get_session


@dataclass(frozen=True)
class EndpointSpec:
    """What the OpenAPI generator knows of one endpoint."""

    summary: str
    body: Any = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    admin: bool = False
    content_type: str = "application/json"
    # Error statuses this endpoint answers beyond the ones every endpoint may (e.g. 409, or 401 for a webhook).
    errors: tuple[int, ...] = ()
    # Success statuses it answers beyond `status`, with the same response (201 created or 200 updated).
    also: tuple[int, ...] = ()


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Map pydantic's errors to `{"field.path": "message"}`."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"] if part not in ("function-after", "function-before")]
        name = ".".join(([prefix] if prefix else []) + loc) or prefix or "body"
        message = error["msg"]
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a field of this request"
        fields.setdefault(name, message)
    return fields


def _union_member(schema: Any, data: Any) -> Any:
    """For `Model | list[Model]` bodies, the member the data's shape asks for, so errors name plain paths."""
    if typing.get_origin(schema) not in (typing.Union, types.UnionType):
        return schema
    wanted = list if isinstance(data, list) else dict
    for member in typing.get_args(schema):
        base = typing.get_args(member)[0] if typing.get_origin(member) is typing.Annotated else member
        is_list = typing.get_origin(base) is list
        if (wanted is list) == is_list:
            return member
    return schema


def validate(schema: Any, data: Any, *, what: str = "request body") -> Any:
    """Validate `data` against a pydantic model or type; ValidationFailed names each bad field."""
    schema = _union_member(schema, data)
    try:
        value = _adapter(schema).validate_python(data)
    except ValidationError as exc:
        fields = field_errors(exc)
        names = ", ".join(sorted(fields))
        raise ValidationFailed(f"The {what} has invalid fields: {names}.", fields=fields) from None
    if isinstance(value, UpdateModel) and value.null_fields():
        fields = {name: "may not be null" for name in value.null_fields()}
        raise ValidationFailed(f"The {what} sets {', '.join(fields)} to null.", fields=fields)
    return value


@functools.lru_cache(maxsize=None)
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


MAX_JSON_DEPTH = 64
# A JSON string (skipped whole, brackets inside it do not nest) or one bracket.
_JSON_NESTING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in `raw` nest deeper than `limit`, found before parsing it."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_NESTING.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def parse_json(raw: bytes, *, what: str = "body") -> Any:
    """Parse a JSON request body; 400 `malformed_json` if it is not JSON or nests deeper than MAX_JSON_DEPTH.

    Every JSON body a route reads goes through here (webhooks too): the depth bound keeps a body of
    many `[` from reaching the parser's recursion limit.
    """
    if _nesting_exceeds(raw, MAX_JSON_DEPTH):
        raise BadRequest(
            f"The {what} nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.", code="malformed_json"
        )
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"The {what} is not valid JSON: {exc}.", code="malformed_json") from None


def read_json_body() -> Any:
    """The request's JSON body; 400 if it is not JSON (413 comes from Flask's size limit).

    An empty body reads as `{}`: a body whose fields are all optional may be left out.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise BadRequest(
            "The body must be JSON with Content-Type: application/json.", code="malformed_json"
        )
    return parse_json(raw)


def read_query(schema: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        info = schema.model_fields.get(key)
        is_list = info is not None and "list" in str(info.annotation)
        data[key] = values if is_list else values[-1]
    return validate(schema, data, what="query")


def dump(value: Any) -> Any:
    """Serialise a view's result to JSON-ready data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {key: dump(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(item) for item in value]
    return TypeAdapter(type(value)).dump_python(value, mode="json") if value is not None else None


# The scope an API token needs for admin-only endpoints (see app.auth.models.TokenScope).
ADMIN_SCOPE = "admin"


def require_admin(user: Any) -> None:
    """Only admins, and with a token only one of the admin scope (`g.token_scope`, set by app.auth.context)."""
    if not user.is_admin:
        raise Forbidden("Only admins can do this.", code="admin_only")
    scope = g.get("token_scope")
    if scope is not None and scope != ADMIN_SCOPE:
        raise InsufficientScope(required=ADMIN_SCOPE, held=scope, doing="an admin-only endpoint")


def require_user() -> Any:
    user = g.get("user")
    if user is None:
        raise Unauthorized(
            "Sign in or send 'Authorization: Bearer TOKEN' (create one with 'hindsight token create')."
        )
    return user


def endpoint(
    summary: str,
    *,
    body: Any = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: bool = True,
    tags: tuple[str, ...] = (),
    admin: bool = False,
    errors: tuple[int, ...] = (),
    also: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a JSON view: see the module docstring. `admin=True` lets only admins call it (403);
    `errors` names the error statuses it answers beyond the common ones, and `also` the success statuses
    beyond `status`, for the OpenAPI document."""

    spec = EndpointSpec(summary, body, query, response, status, auth or admin, tags, admin=admin, errors=errors,
                        also=also)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if auth or admin:
                kwargs["user"] = require_user()
                if admin:
                    require_admin(kwargs["user"])
            if body is not None:
                kwargs["body"] = validate(body, read_json_body())
            if query is not None:
                kwargs["query"] = read_query(query)
            try:
                result = view(*args, **kwargs)
            except OutsideFailure:
                _commit_if_open()  # the failure recorded on its row stays for everyone to see
                raise
            if isinstance(result, Response):
                _commit_if_open()
                return result
            code = status
            if isinstance(result, tuple):
                result, code = result
            if code == 204:
                _commit_if_open()
                return Response(status=204)
            payload = dump(result)
            _commit_if_open()
            return jsonify(payload), code

        wrapper.endpoint_spec = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _commit_if_open() -> None:
    if "db_session" in g:
        commit(get_session())
