"""The document page in a browser: Publish cannot be sent twice while it runs, a success and a
failure look different, an export downloads in the background."""

from __future__ import annotations

import pytest

from tests.fakes.confluence import FakeConfluence

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def confluence():
    with FakeConfluence() as fake:
        yield fake


@pytest.fixture
def settings_overrides(confluence):
    return {"confluence": {"url": confluence.url, "user": confluence.user, "token": confluence.token,
                           "space": confluence.space}}


def test_publish_is_busy_while_it_runs_and_failures_are_not_green(app, admin, factory, signed_in, live_server,
                                                                    confluence):
    _incident, retro = factory.resolved_incident(admin[1], title="Search index went stale")
    page = signed_in
    page.goto(f"{live_server}/retrospectives/{retro['id']}/document")

    confluence.delay_next(1.5)
    # Clicked twice from a script while the request runs (Playwright's own click would wait for
    # the navigation it starts, by when the page is a new one).
    state = page.evaluate("""async () => {
        const button = document.querySelector('form[data-busy] button[type=submit]');
        button.click();
        await new Promise(resolve => setTimeout(resolve, 100));
        button.click();
        return [button.disabled, button.textContent, button.getAttribute('aria-busy')];
    }""")
    assert state == [True, "Publishing…", "true"]
    success = page.locator("main > .flash")
    expect(success).to_have_text("Published to Confluence, version 1.")
    assert success.get_attribute("class") == "flash"
    assert len(confluence.calls("POST")) == 1  # one page, however impatient the clicking

    confluence.fail_next(503, message="Maintenance window")
    page.locator("form[data-busy] button[type=submit]").click()
    failure = page.locator("main > .flash.error")
    expect(failure).to_contain_text("Maintenance window")
    assert failure.get_attribute("role") == "alert"
    assert page.locator("main > .flash:not(.error)").count() == 0
    assert "Maintenance window" in page.locator(".card .error").inner_text()


def test_an_export_downloads_and_says_so(app, admin, factory, signed_in, live_server):
    _incident, retro = factory.resolved_incident(admin[1], title="Search index went stale")
    page = signed_in
    page.goto(f"{live_server}/retrospectives/{retro['id']}/document")
    with page.expect_download() as download:
        page.click("a[data-download]:has-text('Markdown')")
    assert download.value.suggested_filename.endswith(".md")
    with open(download.value.path(), encoding="utf-8") as file:
        assert "Search index went stale" in file.read()
    expect(page.locator("[data-download-status]")).to_have_text(f"Downloaded {download.value.suggested_filename}.")
    assert page.locator("a[data-download][aria-disabled]").count() == 0
