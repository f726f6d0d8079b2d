"""The template pages: the list, one template with its preview against the demo incident, and the
form that makes or changes a custom template (admins only, as the API says), refusals in words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.db import get_session
from tests.demo import load_demo_ids
from tests.web import Page, csrf_token, sign_in

MEMBER = "member@example.com"

SECTIONS = [
    ("facts", "Facts", "{{ incident.title | inline }} ({{ incident.severity }}), led by {{ incident.commander.name }}."),
    ("went_well", "What went well", "- {{ team | length }} people held roles"),
]


def form_data(web, path: str, *, name: str = "payments", title: str = "Payments retro",
              description: str = "For the payments team.", sections=SECTIONS, action: str = "save", **extra):
    """The form as a browser posts it: sections numbered from 1, one button pressed."""
    data = {"csrf_token": csrf_token(web.get(path).get_data(as_text=True)), "name": name, "title": title,
            "description": description, "action": action}
    for number, (key, section_title, body) in enumerate(sections, start=1):
        data |= {f"section-{number}-key": key, f"section-{number}-title": section_title,
                 f"section-{number}-body": body}
    return data | extra


def template_rows(app) -> int:
    from app.documents.models import DocumentTemplate

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(DocumentTemplate))


@pytest.fixture
def admin_web(app, admin):
    return sign_in(app, "admin@example.com")


@pytest.fixture
def member_web(app, factory):
    factory.user(email=MEMBER, name="Mo Member")
    return sign_in(app, MEMBER)


def create(admin_web, **changes):
    response = admin_web.post("/templates/new", data=form_data(admin_web, "/templates/new", **changes))
    assert response.status_code == 302, Page.of(response).text[:500]
    return response


# -- who may do what ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/templates", "/templates/standard", "/templates/new", "/templates/payments/edit"])
def test_signed_out_visitors_sign_in_first(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_members_read_templates_but_may_not_make_or_change_them(app, admin_web, member_web):
    create(admin_web)
    listing = Page.of(member_web.get("/templates"))
    assert "Payments retro" in listing.text and "Standard retrospective" in listing.text
    assert not listing.shows("New template")
    assert member_web.get("/templates/payments").status_code == 200
    assert not Page.of(member_web.get("/templates/payments")).shows("Edit this template")
    assert member_web.get("/templates/new").status_code == 403
    assert member_web.get("/templates/payments/edit").status_code == 403
    token = csrf_token(member_web.get("/templates").get_data(as_text=True))
    posted = member_web.post("/templates/new", data={"csrf_token": token, "name": "mine", "title": "Mine",
                                                      "section-1-key": "a", "section-1-title": "A",
                                                      "section-1-body": "x", "action": "save"})
    assert posted.status_code == 403
    assert "Only admins" in Page.of(posted).text
    assert template_rows(app) == 1


def test_the_list_shows_each_template_with_its_sections_and_a_link(admin_web):
    create(admin_web)
    page = Page.of(admin_web.get("/templates"))
    assert page.find("a", href="/templates/new").text == "New template"
    assert page.find("a", href="/templates/payments").text == "Payments retro"
    assert page.find("a", href="/templates/standard")
    assert "For the payments team." in page.text
    assert "What went well" in page.texts("li")
    assert "Templates" in [a.text for a in page.find_all("a", href="/templates")]  # the nav link


def test_unknown_templates_are_not_found(admin_web):
    assert admin_web.get("/templates/nope").status_code == 404
    assert admin_web.get("/templates/nope/edit").status_code == 404


# -- create and edit ----------------------------------------------------------------------------

def test_an_admin_makes_a_template_and_sees_it(app, admin_web, client, auth):
    response = create(admin_web)
    assert response.headers["Location"].endswith("/templates/payments")
    page = Page.of(admin_web.get("/templates/payments"))
    assert "Payments retro" in page.texts("h1")
    assert "The template “Payments retro” is saved." in page.text
    assert page.texts("h3")[:2] == ["Section 1: Facts", "Section 2: What went well"]
    assert page.texts("pre")[0] == SECTIONS[0][2]  # the body as its source
    stored = client.get("/api/v1/templates/payments", headers=auth).get_json()
    assert [(s["key"], s["title"], s["body"]) for s in stored["sections"]] == SECTIONS
    assert stored["created_by"] == "admin@example.com"


def test_blank_rows_are_left_out_and_add_and_remove_work_without_scripts(app, admin_web):
    path = "/templates/new"
    added = admin_web.post(path, data=form_data(admin_web, path, action="add"))
    assert added.status_code == 200
    page = Page.of(added)
    assert [e.attrs["name"] for e in page.find_all("textarea") if e.attrs["name"].startswith("section-")] == [
        "section-1-body", "section-2-body", "section-3-body"]
    assert page.find("input", name="name").attrs["value"] == "payments"  # what was typed is kept
    removed = admin_web.post(path, data=form_data(admin_web, path, remove="1"))
    titles = [e.attrs.get("value") for e in Page.of(removed).find_all("input") if e.attrs.get("name", "").endswith("-title")]
    assert titles == ["What went well"]
    assert template_rows(app) == 0  # neither button saves
    blank = ("", "", "")
    create(admin_web, sections=[SECTIONS[0], blank, SECTIONS[1], blank])
    with app.app_context():
        from app.documents.service import get_template

        assert [s["key"] for s in get_template(get_session(), name="payments")["sections"]] == ["facts", "went_well"]


def test_an_admin_edits_a_template(app, admin_web, client, auth):
    create(admin_web)
    form = Page.of(admin_web.get("/templates/payments/edit"))
    assert form.find("input", name="title").attrs["value"] == "Payments retro"
    assert form.find("textarea", name="section-1-body").raw_text == SECTIONS[0][2]
    assert not form.find_all("input", name="name")  # the name stays
    changed = [("facts", "The facts", "Severity {{ incident.severity }}"), ("money", "Money lost", "_How much?_")]
    response = admin_web.post("/templates/payments/edit",
                              data=form_data(admin_web, "/templates/payments/edit", title="Payments", sections=changed))
    assert response.status_code == 302
    stored = client.get("/api/v1/templates/payments", headers=auth).get_json()
    assert stored["title"] == "Payments"
    assert [(s["key"], s["title"], s["body"]) for s in stored["sections"]] == changed
    assert "The changes to “Payments” are saved." in Page.of(admin_web.get("/templates/payments")).text


def test_built_in_templates_are_not_edited(admin_web):
    assert not Page.of(admin_web.get("/templates/standard")).shows("Edit this template")
    response = admin_web.get("/templates/standard/edit", follow_redirects=True)
    assert "Built-in templates cannot be changed." in Page.of(response).text


def test_a_duplicate_name_is_refused_in_words_and_the_form_kept(app, admin_web):
    create(admin_web)
    for name in ("payments", "standard"):
        response = admin_web.post("/templates/new", data=form_data(admin_web, "/templates/new", name=name,
                                                                   title="Another"))
        assert response.status_code == 422
        page = Page.of(response)
        assert page.by_id("refusal").text == "There is already a template with this name: choose another one."
        assert page.by_id("refusal").attrs["role"] == "alert"
        assert page.by_id("name-error").text == "Is already used by another template."
        assert page.find("input", name="title").attrs["value"] == "Another"
        assert page.find("textarea", name="section-2-body").raw_text == SECTIONS[1][2]
    assert template_rows(app) == 1


@pytest.mark.parametrize("change, field, note", [
    ({"name": "Bad Name!"}, "name-error", "lowercase letters"),
    ({"title": ""}, "title-error", "Fill this in."),
    ({"sections": [("Bad-Key", "A", "x")]}, "section-1-key-error", "lowercase letters"),
    ({"sections": [("a", "A", "x"), ("a", "B", "y")]}, "section-2-key-error", "Another section above has this key"),
    ({"sections": []}, "sections-error", "at least one section"),
])
def test_bad_input_is_422_with_the_field_named_in_words(app, admin_web, change, field, note):
    response = admin_web.post("/templates/new", data=form_data(admin_web, "/templates/new", **change))
    assert response.status_code == 422
    page = Page.of(response)
    assert note in page.by_id(field).text
    assert page.by_id("refusal").text
    assert not re.search(r"sections\.\d|String should|pattern|\^\[", page.text)
    assert template_rows(app) == 0


UNSAFE = [
    ("{{ ''.__class__.__mro__ }}", "the template uses something templates may not use (line 2)"),
    ("{% for i in range(100000000) %}x{% endfor %}", "the template counts too far with range"),
    ("{{ 'x' * 100000000 }}", "the template writes far too much text"),
    ("{% for x in %}", "the template is not written correctly"),
    ("{{ 1 / 0 }}", "the template stops with an error when it is filled in"),
]


@pytest.mark.parametrize("body, words", UNSAFE)
@pytest.mark.parametrize("action", ["save", "preview"])
def test_a_body_the_sandbox_refuses_is_named_by_section_in_words(app, admin_web, body, words, action):
    sections = [*SECTIONS, ("bad", "What went badly", "Fine.\n" + body if "__" in body else body)]
    response = admin_web.post("/templates/new", data=form_data(admin_web, "/templates/new", sections=sections,
                                                               action=action))
    assert response.status_code == 422
    page = Page.of(response)
    assert f"Section 3, What went badly: {words}" in page.by_id("refusal").text
    assert page.by_id("section-3-body-error").text.startswith(words[:1].upper() + words[1:])
    assert page.find("textarea", name="section-3-body").raw_text == sections[2][2]  # what was typed is kept
    assert not re.search(r"Error\b|Exception|Traceback|SecurityError|sections\.2|unsafe_template", page.text)
    assert template_rows(app) == 0


# -- previews -----------------------------------------------------------------------------------

def test_a_preview_shows_the_result_and_writes_nothing(app, admin_web):
    from app.documents.models import DocumentTemplate
    from app.incidents.models import Incident, TimelineEvent

    def counts():
        with app.app_context():
            session = get_session()
            return [session.scalar(select(func.count()).select_from(model))
                    for model in (DocumentTemplate, Incident, TimelineEvent)]

    before = counts()
    response = admin_web.post("/templates/new", data=form_data(admin_web, "/templates/new", action="preview"))
    assert response.status_code == 200
    page = Page.of(response)
    preview = page.by_id("preview")
    assert "Preview with the demo incident" in preview.text
    assert "Checkout outage: orders database failover stalled (SEV1), led by Maya Chen." in page.text
    assert "7 people held roles" in page.text
    assert "the demo is not loaded here" in page.text
    assert page.find("input", name="name").attrs["value"] == "payments"
    assert counts() == before


def test_the_preview_uses_the_loaded_demo_incident(app, admin_web):
    ids = load_demo_ids(app)
    create(admin_web, sections=[("facts", "Facts", "Incident #{{ incident.id }}: {{ timeline | length }} events, "
                                                   "facilitated by {{ retro.facilitator.name }}")])
    page = Page.of(admin_web.get("/templates/payments"))
    assert f"Incident #{ids['incident']}: 41 events, facilitated by Jordan Lee" in page.text
    assert "as it is in Hindsight" in page.text


def test_the_in_memory_demo_has_the_loaded_demos_facts(app, admin):
    """Without the demo in the database the preview builds the same facts; they must not drift apart."""
    from app.documents.service import template_context
    from app.documents.template_preview import demo_facts
    from app.retros.models import Retrospective

    ids = load_demo_ids(app)
    config = app.extensions["hindsight.settings"]
    with app.app_context():
        session = get_session()
        loaded = template_context(session, retro=session.get(Retrospective, ids["retro"]), settings=config)
    built = demo_facts(settings=config)
    for key in ("title", "severity", "status", "description", "commander", "time_to_detect", "duration"):
        assert built["incident"][key] == loaded["incident"][key], key
    for key in ("links", "responders", "ground_rules", "team"):
        assert built[key] == loaded[key], key
    assert built["retro"]["facilitator"] == loaded["retro"]["facilitator"]
    assert built["retro"]["participants"] == loaded["retro"]["participants"]
    assert built["timeline"] == loaded["timeline"]


def test_a_built_in_template_shows_its_sections_source_and_preview(admin_web):
    page = Page.of(admin_web.get("/templates/standard"))
    assert "Standard retrospective" in page.texts("h1")
    assert "Summary" in page.texts("li")
    assert 'section("summary", "Summary"' in page.find("pre").raw_text
    assert "Checkout outage: orders database failover stalled" in page.find("div", class_="preview doc").text


def test_pages_show_no_api_field_names(admin_web):
    create(admin_web)
    for path in ("/templates", "/templates/payments", "/templates/standard", "/templates/new",
                 "/templates/payments/edit"):
        page = Page.of(admin_web.get(path))
        said = page.text  # what the page says, not the template texts it shows
        for source in page.find_all("pre") + page.find_all("textarea"):
            said = said.replace(source.text, "")
        assert not re.search(r"\b(builtin|created_by|created_at|sections\.\d|live|description)\b", said), path


# -- the API route the edit form mirrors -------------------------------------------------------

API_TEMPLATE = {"name": "payments", "title": "Payments retro", "description": "",
                "sections": [{"key": "facts", "title": "Facts", "body": "{{ incident.title }}"}]}


def test_put_changes_a_custom_template_with_the_same_checks(client, auth, factory):
    assert client.post("/api/v1/templates", headers=auth, json=API_TEMPLATE).status_code == 201
    changed = API_TEMPLATE | {"title": "Payments", "sections": [{"key": "money", "title": "Money", "body": "_How much?_"}]}
    response = client.put("/api/v1/templates/payments", headers=auth, json=changed)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title"] == "Payments"
    assert [s["key"] for s in client.get("/api/v1/templates/payments", headers=auth).get_json()["sections"]] == ["money"]

    unsafe = API_TEMPLATE | {"sections": [{"key": "a", "title": "A", "body": "{{ ''.__class__ }}"}]}
    refused = client.put("/api/v1/templates/payments", headers=auth, json=unsafe)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "unsafe_template"
    assert list(refused.get_json()["error"]["fields"]) == ["sections.0.body"]
    renamed = client.put("/api/v1/templates/payments", headers=auth, json=API_TEMPLATE | {"name": "other"})
    assert renamed.status_code == 422 and "name" in renamed.get_json()["error"]["fields"]
    assert client.get("/api/v1/templates/payments", headers=auth).get_json()["title"] == "Payments"  # unchanged

    _member, member = factory.user()
    assert client.put("/api/v1/templates/payments", headers=member, json=changed).status_code == 403
    assert client.put("/api/v1/templates/nope", headers=auth, json=API_TEMPLATE | {"name": "nope"}).status_code == 404
    builtin = client.put("/api/v1/templates/standard", headers=auth, json=API_TEMPLATE | {"name": "standard"})
    assert builtin.status_code == 409 and builtin.get_json()["error"]["code"] == "builtin_template"


def test_a_stored_template_that_misbehaves_is_explained_in_the_preview(app, admin_web):
    """One stored before a rule existed (or behind the API's back): the view says why, by section, in words."""
    from app.documents.models import DocumentTemplate

    with app.app_context():
        session = get_session()
        session.add(DocumentTemplate(name="stored", title="Stored", description="", sections=[
            {"key": "ok", "title": "Fine", "body": "Fine."},
            {"key": "div", "title": "Division", "body": "{{ 1 / 0 }}"},
        ]))
        session.commit()
    response = admin_web.get("/templates/stored")
    assert response.status_code == 200
    page = Page.of(response)
    assert "Section 2, Division: the template stops with an error when it is filled in" in page.by_id("preview-refused").text
    assert not re.search(r"ZeroDivision|Error\b|could not be rendered", page.text)


def test_a_sections_question_is_kept_apart_from_its_text_and_shown_again_for_editing(app, admin_web, client, auth):
    question = "What helped us recover? What should we keep doing?"
    create(admin_web, **{"section-2-prompt": question})
    stored = client.get("/api/v1/templates/payments", headers=auth).get_json()
    assert [s["prompt"] for s in stored["sections"]] == ["", question]
    assert question not in stored["sections"][1]["body"]
    form = Page.of(admin_web.get("/templates/payments/edit"))
    assert form.find("input", name="section-2-prompt").attrs["value"] == question
    assert form.find("label", **{"for": "section-2-prompt"}) is not None
