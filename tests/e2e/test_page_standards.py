"""Every page, on a phone (390×844) and a laptop (1440×900): no sideways scroll on the phone, no console
error, no serious or critical accessibility violation (axe-core, injected by the test), a screenshot of
each under tests/e2e/screenshots/ to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.demo import load_demo_ids

AXE = Path(__file__).parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1440, "height": 900}}


@pytest.fixture
def demo(app, admin):
    """The demo incident (41 timeline events, a retro, five action items); the ids the pages need."""
    return load_demo_ids(app) | {"person": admin[0].person_id}


def pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """(name, path) of every page there is, signed in."""
    return [
        ("incidents", "/"),
        ("incident", f"/incidents/{ids['incident']}"),
        ("incident-declare", "/incidents/new"),
        ("action-items", "/action-items"),
        ("action-item", f"/action-items/{ids['item']}"),
        ("insights", "/insights"),
        ("search", "/search?q=failover"),
        ("search-empty", "/search"),
        ("retro-schedule", f"/retrospectives/{ids['retro']}/schedule"),
        ("retro-facilitate", f"/retrospectives/{ids['retro']}/facilitate"),
        ("retro-facilitate-factors", f"/retrospectives/{ids['retro']}/facilitate?open=factors"),
        ("document", f"/retrospectives/{ids['retro']}/document"),
        ("templates", "/templates"),
        ("template", "/templates/standard"),
        ("template-new", "/templates/new"),
        ("admin", "/admin"),
        ("integrations", "/admin/integrations"),
        ("admin-people", "/admin/people"),
        ("admin-person", f"/admin/people/{ids['person']}"),
        ("admin-users", "/admin/users"),
        ("admin-tokens", "/admin/tokens"),
        ("admin-audit", "/admin/audit"),
        ("account-tokens", "/account/tokens"),
        ("services", "/services"),
        ("error-404", "/incidents/999999"),
    ]


def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("HINDSIGHT_TEST_REQUIRE_AXE"):
            pytest.fail(f"axe-core is required here but missing at {AXE}")
        pytest.skip("axe-core is not installed: npm install --no-save --prefix tests/e2e/node axe-core@4 "
                    "(.ci/run does it)")
    return AXE.read_text()


def check(tab, name: str, size: str, axe: str) -> list[str]:
    """What is wrong with the page open in `tab`; saves its screenshot."""
    problems: list[str] = []
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    if size == "phone":
        widths = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            wide = tab.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)""")
            problems.append(f"{name}: scrolls sideways at 390 px ({widths[0]} px wide; too wide: {wide})")
    # Evaluated through the DevTools protocol, so the page's Content-Security-Policy does not block it.
    tab.evaluate(axe)
    violations = tab.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' (' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') + ')');
    }""")
    problems.extend(f"{name} at {size}: {v}" for v in violations)
    return problems


@pytest.mark.parametrize("size", VIEWPORTS)
def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, demo, size):
    axe = axe_source()
    context = browser.new_context(viewport=VIEWPORTS[size])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"{tab.url}: {message.text}") if message.type == "error" else None)
    tab.on("pageerror", lambda error: console.append(f"{tab.url}: {error}"))
    problems: list[str] = []
    try:
        tab.goto(f"{live_server}/login")
        problems += check(tab, "login", size, axe)
        tab.fill("#email", "admin@example.com")
        tab.fill("#password", "correct horse battery")
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{live_server}/")
        for name, path in pages(demo):
            response = tab.goto(f"{live_server}{path}")
            assert response is not None
            assert response.status == (404 if name.startswith("error") else 200), name
            problems += check(tab, name, size, axe)
    finally:
        context.close()
    # The error page's own 404 is the one expected "failed to load" message.
    console = [c for c in console if not ("/incidents/999999" in c and "404" in c)]
    assert problems == []
    assert console == []
