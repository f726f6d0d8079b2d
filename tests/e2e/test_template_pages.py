"""The template pages in a real browser: on a phone and a laptop, no sideways scroll, no console error,
no serious accessibility violation; the form's buttons work without scripts."""

from __future__ import annotations

import pytest

from tests.e2e.test_page_standards import VIEWPORTS, axe_source, check

CUSTOM = {"name": "payments", "title": "Payments retro with a rather long title to wrap on phones",
          "description": "For the payments team.",
          "sections": [{"key": "what_went_well", "title": "What went well",
                        "body": "{% for member in team %}- {{ member.name }}: {{ member.role_label }} "
                                "with a long line that must wrap rather than scroll sideways on a phone\n{% endfor %}"}]}


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_template_pages_fit_a_phone_and_pass_axe(browser, live_server, client, auth, size):
    axe = axe_source()
    assert client.post("/api/v1/templates", headers=auth, json=CUSTOM).status_code == 201
    context = browser.new_context(viewport=VIEWPORTS[size])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"{tab.url}: {message.text}") if message.type == "error" else None)
    problems: list[str] = []
    try:
        tab.goto(f"{live_server}/login")
        tab.fill("#email", "admin@example.com")
        tab.fill("#password", "correct horse battery")
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{live_server}/")
        for name, path in [("templates", "/templates"), ("template-builtin", "/templates/standard"),
                           ("template-custom", "/templates/payments"), ("template-new", "/templates/new"),
                           ("template-edit", "/templates/payments/edit")]:
            response = tab.goto(f"{live_server}{path}")
            assert response is not None and response.status == 200, name
            problems += check(tab, name, size, axe)
        # The form without scripts' help: preview, then a refusal kept on the page.
        tab.click("button[value=preview]")
        tab.wait_for_selector("#preview-title")
        problems += check(tab, "template-preview", size, axe)
        tab.fill("#section-1-body", "{{ ''.__class__ }}")
        tab.click("button[value=save]:not(.default-submit)")
        tab.wait_for_selector("#refusal")
        assert "Section 1, What went well" in tab.inner_text("#refusal")
        problems += check(tab, "template-refused", size, axe)
    finally:
        context.close()
    assert problems == []
    assert [c for c in console if "422" not in c] == []
