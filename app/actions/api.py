"""JSON routes of the actions domain."""

from flask import Blueprint

bp = Blueprint("actions_api", __name__, url_prefix="/api/v1")
