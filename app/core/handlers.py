"""Error handlers: the API always answers with the JSON error shape, never an HTML 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.core.errors import HindsightError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, code: str, message: str, fields: dict | None = None) -> tuple[Response, int]:
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return jsonify({"error": error}), status


def init_app(app: Flask) -> None:
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
            return _json_error(status, _HTTP_CODES.get(status, "error"), exc.description or exc.name)
        return render_template("pages/error.html", status=status, message=exc.description), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; it has been logged."
        if _wants_json():
            return _json_error(500, "internal_error", message)
        return render_template("pages/error.html", status=500, message=message), 500
