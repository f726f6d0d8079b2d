"""Every response carries the security headers: pages, API, not-found and error answers alike."""

import pytest

from tests.web import sign_in

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP_PARTS = [
    "default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    "img-src 'self' data:", "frame-ancestors 'none'", "style-src 'self'",
]


def _assert_secured(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    policy = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert sorted(policy) == sorted(CSP_PARTS)


@pytest.mark.parametrize("path,status", [
    ("/login", 200), ("/no-such-page", 404), ("/api/v1/no-such-thing", 404), ("/api/v1/incidents", 401),
    ("/api/v1/openapi.json", 200), ("/static/facilitate.js", 200),
])
def test_signed_out_answers_carry_the_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    _assert_secured(response)


def test_signed_in_pages_api_answers_and_refusals_carry_the_headers(app, admin, auth, client):
    web = sign_in(app, "admin@example.com")
    _assert_secured(web.get("/"))
    _assert_secured(client.get("/api/v1/incidents", headers=auth))
    _assert_secured(client.post("/api/v1/incidents", json={"title": ""}, headers=auth))  # 422
    _assert_secured(web.post("/logout"))  # 400: no CSRF token


@pytest.mark.committing  # adds routes: it needs an app of its own, never the session's shared one
def test_a_server_error_carries_the_headers(make_app):
    app = make_app()

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    app.add_url_rule("/api/v1/broken", endpoint="api_broken", view_func=broken)
    page = app.test_client().get("/broken")
    api = app.test_client().get("/api/v1/broken")
    assert page.status_code == 500 and api.status_code == 500
    assert api.get_json()["error"]["code"] == "internal_error"
    _assert_secured(page)
    _assert_secured(api)
