"""The OpenAPI document and a health check."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.core.openapi import build_openapi
from app.db import get_session

bp = Blueprint("meta_api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    """The generated OpenAPI 3.1 document of this API."""
    return jsonify(build_openapi(current_app))


@bp.get("/health")
def health():
    """200 when the database answers."""
    get_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
