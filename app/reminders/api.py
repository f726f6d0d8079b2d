"""JSON routes of the reminders domain."""

from flask import Blueprint

bp = Blueprint("reminders_api", __name__, url_prefix="/api/v1")
