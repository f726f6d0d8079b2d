"""HTML pages of the actions domain."""

from flask import Blueprint

bp = Blueprint("actions_pages", __name__)
