"""Sign-in through the loopback OpenID provider in Chromium: the login page's button, the provider's
redirects and Hindsight's callback, as a browser follows them."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.e2e.test_page_standards import SCREENSHOTS
from tests.fakes import preferred_port
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderUser


@pytest.fixture
def provider():
    provider = OidcProvider()
    provider.user = ProviderUser(sub="casey-1", email="casey@example.com", name="Casey Example", groups=["sre"])
    yield provider
    provider.close()


@pytest.fixture
def base_url():
    """Hindsight's public URL: the provider sends the browser back to it, so it is known before the app."""
    return f"http://127.0.0.1:{preferred_port('hindsight-sso')}"


@pytest.fixture
def settings_overrides(provider, base_url):
    provider.redirect_uris.append(f"{base_url}/login/oidc/callback")
    return {"base_url": base_url, "password_login": False,
            "oidc": {"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "name": "Acme ID", "admin_groups": ["sre"]}}


@pytest.fixture
def served(app, base_url):
    """The app served at `base_url`."""
    server = make_server("127.0.0.1", int(base_url.rsplit(":", 1)[1]), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_sign_in_through_the_provider(page, served, provider):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{served}/action-items")
    page.wait_for_url(f"{served}/login?next=/action-items")
    assert page.locator("#password").count() == 0  # password sign-in is off
    button = page.get_by_role("link", name="Sign in with Acme ID")
    assert button.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login-sso-phone.png"), full_page=True)
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/action-items")
    assert page.locator("header .who").inner_text() == "Casey Example"
    assert page.get_by_role("link", name="Admin", exact=True).is_visible()  # an admin, by the provider's group
    assert [params["code_challenge_method"] for params in provider.authorize_params] == ["S256"]

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{served}/login")
    provider.deny = True
    page.get_by_role("link", name="Sign in with Acme ID").click()
    alert = page.get_by_role("alert")
    assert "Acme ID did not sign you in to Hindsight" in alert.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "login-sso-refused-phone.png"), full_page=True)
    assert page.locator("header .who").count() == 0
