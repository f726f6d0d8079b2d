"""JSON routes of the documents domain."""

from flask import Blueprint

bp = Blueprint("documents_api", __name__, url_prefix="/api/v1")
