"""JSON routes of the auth domain."""

from flask import Blueprint

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")
