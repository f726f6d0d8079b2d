"""HTML pages of the documents domain."""

from flask import Blueprint

bp = Blueprint("documents_pages", __name__)
