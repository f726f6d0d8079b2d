"""Security headers on every response: pages, API, static files and errors alike."""

from __future__ import annotations

from flask import Flask, Response

# Styles and scripts are files under /static only: no <style> block, no style="" attribute, no
# inline <script>, no on* attribute in any page (tests/core/test_page_standards.py keeps it so).
# Scripts that need a style set it through the CSSOM (element.style.x), which the policy allows.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
