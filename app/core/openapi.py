"""The OpenAPI 3.1 document, generated from the same pydantic schemas that validate requests."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter

from app.core.api import EndpointSpec

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
REF_TEMPLATE = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _schema(value: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(value).json_schema(ref_template=REF_TEMPLATE, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    title = schema.get("title")
    if title and schema.get("type") == "object" and getattr(value, "__name__", None) == title:
        components[title] = schema
        return {"$ref": REF_TEMPLATE.format(model=title)}
    return schema


def _body_required(body: Any) -> bool:
    """An empty body reads as `{}` (see read_json_body): a model whose fields all have defaults may go without."""
    if isinstance(body, type) and issubclass(body, BaseModel):
        return any(info.is_required() for info in body.model_fields.values())
    return True


def _path_parameter(rule: str, name: str) -> dict[str, Any]:
    if f"int:{name}>" in rule:
        # The route's converter takes only 32-bit ids (see app._IdConverter): others are 404.
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _error_statuses(spec: EndpointSpec) -> list[int]:
    """Every error status the endpoint may answer, each in the error shape."""
    statuses = {400, 404, 422, 431} | set(spec.errors)
    if spec.auth:
        statuses.add(401)
    if spec.admin:
        statuses.add(403)
    if spec.body is not None:
        statuses.add(413)
    return sorted(statuses)


def build_openapi(app: Flask) -> dict[str, Any]:
    """Walk the app's routes and describe every endpoint that carries an EndpointSpec."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        spec: EndpointSpec | None = getattr(view, "endpoint_spec", None)
        if spec is None:
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "summary": spec.summary,
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "responses": {},
            }
            if spec.tags:
                operation["tags"] = list(spec.tags)
            parameters = [_path_parameter(rule.rule, name) for name in _CONVERTER.findall(rule.rule)]
            if spec.query is not None:
                query_schema = spec.query.model_json_schema(ref_template=REF_TEMPLATE)
                components.update(query_schema.pop("$defs", {}))
                required = set(query_schema.get("required", []))
                for name, prop in query_schema.get("properties", {}).items():
                    parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
            if parameters:
                operation["parameters"] = parameters
            if spec.body is not None:
                operation["requestBody"] = {
                    "required": _body_required(spec.body),
                    "content": {"application/json": {"schema": _schema(spec.body, components, "validation")}},
                }
            if spec.status == 204:
                operation["responses"]["204"] = {"description": "No content"}
            else:
                content: dict[str, Any] = {}
                if spec.response is not None:
                    content = {spec.content_type: {"schema": _schema(spec.response, components, "serialization")}}
                for code in (spec.status, *spec.also):
                    operation["responses"][str(code)] = {"description": "Success", "content": content}
            error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            for code in _error_statuses(spec):
                operation["responses"][str(code)] = {"description": "Error", "content": error_ref}
            if spec.auth:
                operation["security"] = [{"bearer": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hindsight API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
