"""Error handlers: the API always answers with the JSON error shape, never an HTML 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestHeaderFieldsTooLarge

from app.core.errors import HindsightError, NotFound, ValidationFailed

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 431: "headers_too_large",
}

# Request headers the app takes, in all. gunicorn's own limits (app/server.py) are set above these so
# that the app, not gunicorn's HTML page, answers a request whose headers are too large.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_FIELDS = 100


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, code: str, message: str, fields: dict | None = None) -> tuple[Response, int]:
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return jsonify({"error": error}), status


def _headers_within_bounds() -> None:
    """431 in the error shape when the request's headers are larger than MAX_HEADER_BYTES in all."""
    headers = request.headers
    total = sum(len(name) + len(value) + 4 for name, value in headers.items())
    if total > MAX_HEADER_BYTES or len(headers) > MAX_HEADER_FIELDS:
        raise RequestHeaderFieldsTooLarge(
            f"The request headers are larger than the limit of {MAX_HEADER_BYTES} bytes "
            f"or {MAX_HEADER_FIELDS} fields in all."
        )


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _no_nul_characters() -> None:
    """A NUL character can't be stored (PostgreSQL refuses it in text): an address holding one names
    nothing (404), and a query or form field holding one is refused naming the field (422)."""
    if "\x00" in request.path:
        raise NotFound("No such page or resource: the address holds a NUL character.")
    fields = {name: "must not contain NUL (\\x00) characters" for name, value in request.args.items(multi=True)
              if "\x00" in value or "\x00" in name}
    if request.mimetype in FORM_TYPES and not _wants_json():  # the API reads JSON bodies only (and says so)
        fields |= {name: "must not contain NUL (\\x00) characters" for name, value in request.form.items(multi=True)
                   if "\x00" in value or "\x00" in name}
    if fields:
        raise ValidationFailed("A field holds an invisible NUL character, which cannot be saved: remove it and "
                               "send again.", fields=fields)


def init_app(app: Flask) -> None:
    # First of all before-request work: sign-in must not read a header the app refuses, nor a NUL.
    app.before_request_funcs.setdefault(None, []).insert(0, _headers_within_bounds)
    app.before_request_funcs[None].insert(1, _no_nul_characters)

    @app.errorhandler(HindsightError)
    def _domain(exc: HindsightError):  # type: ignore[no-untyped-def]
        if _wants_json():
            return jsonify(exc.to_dict()), exc.status, exc.headers()
        return render_template("pages/error.html", status=exc.status, message=exc.message), exc.status, exc.headers()

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        if _wants_json():
            return _json_error(403, "csrf_failed", exc.description)
        return render_template(
            "pages/error.html", status=400,
            message="The form expired or was not sent from Hindsight. Go back, reload and try again.",
        ), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
        limit = app.config.get("MAX_CONTENT_LENGTH")
        message = f"The request body is larger than the limit of {limit} bytes."
        if _wants_json():
            return _json_error(413, "too_large", message)
        return render_template("pages/error.html", status=413, message=message), 413

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        if _wants_json():
            response, status = _json_error(status, _HTTP_CODES.get(status, "error"), exc.description or exc.name)
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value  # e.g. Allow on a 405
            return response, status
        return render_template("pages/error.html", status=status, message=exc.description), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; it has been logged."
        if _wants_json():
            return _json_error(500, "internal_error", message)
        return render_template("pages/error.html", status=500, message=message), 500
