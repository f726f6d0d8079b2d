"""Templates: the built-in files, custom ones through the API, and the sandbox around them."""

import pytest

from tests.documents.conftest import document, section

CUSTOM = {
    "name": "payments",
    "title": "Payments retro",
    "description": "For the payments team.",
    "sections": [
        {"key": "facts", "title": "Facts",
         "body": "{{ incident.title | inline }} ({{ incident.severity }}), led by {{ incident.commander.name }}.\n\n"
                 "{% for member in team %}- {{ member.name }}: {{ member.role_label }}\n{% endfor %}"},
        {"key": "rules", "title": "Ground rules",
         "body": "{% for rule in ground_rules %}{{ loop.index }}. {{ rule }}\n{% endfor %}"},
        {"key": "timeline", "title": "Timeline", "body": "{{ timeline | length }} events at generation."},
        {"key": "money", "title": "Money lost", "body": "_How much?_"},
        {"key": "action_items", "title": "Actions", "body": ""},
    ],
}


def test_builtin_templates_are_listed_with_their_sections(client, auth):
    response = client.get("/api/v1/templates", headers=auth)
    assert response.status_code == 200
    items = {t["name"]: t for t in response.get_json()["items"]}
    assert list(items) == ["standard", "security", "lightweight"]
    assert all(t["builtin"] for t in items.values())
    security = [s["key"] for s in items["security"]["sections"]]
    assert {"data_exposure", "disclosure", "legal_review", "timeline", "action_items"} <= set(security)
    one = client.get("/api/v1/templates/standard", headers=auth).get_json()
    assert 'section("summary", "Summary", prompt=' in one["source"]
    assert client.get("/api/v1/templates/nope", headers=auth).status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"documents": {"template_by_severity": {"SEV1": "payments"}}}])
def test_a_custom_template_generates_the_document(client, auth, factory):
    created = client.post("/api/v1/templates", headers=auth, json=CUSTOM)
    assert created.status_code == 201, created.get_json()
    assert [s["key"] for s in created.get_json()["sections"]] == ["facts", "rules", "timeline", "money", "action_items"]
    assert created.get_json()["sections"][0]["body"] == CUSTOM["sections"][0]["body"]
    listed = [t["name"] for t in client.get("/api/v1/templates", headers=auth).get_json()["items"]]
    assert listed == ["standard", "security", "lightweight", "payments"]

    commander = factory.person(name="Pat Payments", email="pat@example.com")
    _incident, retro = factory.resolved_incident(auth, title="Card auth [EU]", commander=commander.email)
    doc = document(client, retro["id"], auth)
    assert doc["template"] == "payments"
    assert [(s["key"], s["title"], s["live"]) for s in doc["sections"]] == [
        ("facts", "Facts", False), ("rules", "Ground rules", False), ("timeline", "Timeline", True),
        ("money", "Money lost", False), ("action_items", "Actions", True),
    ]
    assert section(doc, "facts")["body"] == (
        "Card auth \\[EU\\] (SEV1), led by Pat Payments.\n\n- Pat Payments: Incident commander"
    )
    assert section(doc, "rules")["body"].startswith("1. We are here to learn")
    assert "## Timeline\n\n_No timeline events yet._\n\n0 events at generation." in doc["markdown"]


def test_only_admins_create_templates_and_names_are_unique(client, auth, factory):
    _user, headers = factory.user()
    refused = client.post("/api/v1/templates", headers=headers, json=CUSTOM)
    assert refused.status_code == 403
    assert client.post("/api/v1/templates", headers=auth, json=CUSTOM).status_code == 201
    again = client.post("/api/v1/templates", headers=auth, json=CUSTOM)
    assert again.status_code == 409 and "name" in again.get_json()["error"]["fields"]
    builtin = client.post("/api/v1/templates", headers=auth, json=CUSTOM | {"name": "standard"})
    assert builtin.status_code == 409


@pytest.mark.parametrize("change, field", [
    ({"name": "Bad Name!"}, "name"),
    ({"sections": []}, "sections"),
    ({"sections": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]}, "sections"),
    ({"sections": [{"key": "Bad-Key", "title": "A"}]}, "sections.0.key"),
    ({"sections": [{"key": "a", "title": "two\nlines"}]}, "sections.0.title"),
    ({"sections": [{"key": "a", "title": "A", "body": "{% for x in %}"}]}, "sections.0.body"),
    ({"sections": [{"key": "a", "title": "A", "body": "{{ incident.title "}]}, "sections.0.body"),
])
def test_invalid_templates_name_the_field(client, auth, change, field):
    response = client.post("/api/v1/templates", headers=auth, json=CUSTOM | change)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ incident|attr('items') }}",
    "{{ incident['__class__'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ self }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ '{0.__class__}'.format(incident) }}",
    "{{ range.__self__ }}",
    "{% set x = incident.__class__ %}",
    "{{ incident.title._formatter_parser }}",
    "{% include 'standard.md.j2' %}",
    "{% import 'standard.md.j2' as x %}",
    "{% extends 'standard.md.j2' %}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 99999999 }}",
    "{% for i in range(100000000) %}{% endfor %}",
    "{{ team.append(1) }}",
    "{{ incident.update({'title': 'x'}) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


@pytest.mark.parametrize("body", ESCAPES)
def test_sandbox_escapes_are_refused(body):
    from app.documents.service import sample_context
    from app.documents.templating import check_source

    problem = check_source(body, sample_context())
    assert problem, body


@pytest.mark.parametrize("body", [ESCAPES[0], ESCAPES[1], ESCAPES[17]])
def test_a_refused_template_is_422_naming_the_section_body(client, auth, body):
    payload = CUSTOM | {"sections": [CUSTOM["sections"][3], {"key": "evil", "title": "Evil", "body": body}]}
    response = client.post("/api/v1/templates", headers=auth, json=payload)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "unsafe_template"
    assert list(error["fields"]) == ["sections.1.body"]
    assert client.get("/api/v1/templates/payments", headers=auth).status_code == 404


def test_ordinary_template_features_are_allowed():
    from app.documents.service import sample_context
    from app.documents.templating import check_source

    body = ("{% set ns = namespace(n=0) %}{% for m in team if m.role == 'commander' %}{% set ns.n = ns.n + 1 %}"
            "{{ loop.index }}. {{ m.name | upper }}{% endfor %} {{ ns.n }} {{ incident.title | inline }} "
            "{{ range(3) | list }} {{ 'ab' * 3 }} {{ 2 ** 10 }} {{ timeline | map(attribute='text') | join(', ') }}")
    assert check_source(body, sample_context()) is None


@pytest.mark.parametrize("settings_overrides", [{"documents": {"template_by_severity": {"SEV1": "stored"}}}])
def test_a_stored_template_that_misbehaves_fails_safely_at_render(app, client, auth, factory):
    """A template stored before a rule existed (or behind the API's back) never runs its escape."""
    from app.db import get_session
    from app.documents.models import DocumentTemplate

    with app.app_context():
        session = get_session()
        session.add(DocumentTemplate(name="stored", title="Stored", description="", sections=[
            {"key": "ok", "title": "Fine", "body": "Incident {{ incident.id }}"},
            {"key": "escape", "title": "Escape", "body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
            {"key": "dynamic", "title": "Dynamic",
             "body": "{% set n = '_' ~ '_cla' ~ 'ss_' ~ '_' %}[{{ incident[n] }}][{{ (incident[n]).__name__ }}]"},
            {"key": "bomb", "title": "Bomb", "body": "{{ 'x' * 10**9 }}"},
            {"key": "loop", "title": "Loop", "body": "{% for i in range(9999) %}{% for j in range(9999) %}"
                                                      "{{ 'more text' }}{% endfor %}{% endfor %}"},
        ]))
        session.commit()
    incident, retro = factory.resolved_incident(auth)  # booking still succeeds
    doc = document(client, retro["id"], auth)
    bodies = {s["key"]: s["body"] for s in doc["sections"]}
    assert bodies["ok"] == f"Incident {incident['id']}"
    for key in ("escape", "bomb", "loop"):
        assert "could not be rendered" in bodies[key], (key, bodies[key][:200])
    assert bodies["dynamic"] == "[][]"  # the sandbox hands back nothing for internals
    assert "subclasses" not in doc["markdown"] and "<class" not in doc["markdown"]


def test_a_dynamic_reach_for_internals_renders_as_nothing(client, auth):
    """What the static check cannot see, the sandbox turns into an empty value."""
    body = "{% set n = '_' ~ '_cla' ~ 'ss_' ~ '_' %}[{{ incident[n] }}]"
    response = client.post("/api/v1/templates", headers=auth,
                           json=CUSTOM | {"name": "dyn", "sections": [{"key": "d", "title": "D", "body": body}]})
    assert response.status_code == 201
    from app.documents.templating import render_body

    assert render_body(body, {"incident": {"title": "x"}}) == "[]"


@pytest.mark.slow  # loops until the time bound stops it (seconds)
def test_a_template_that_loops_without_writing_is_stopped():
    import time

    from jinja2.sandbox import SecurityError

    from app.documents.templating import render_body

    started = time.monotonic()
    with pytest.raises(SecurityError, match="longer than"):
        render_body("{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}{% endfor %}{% endfor %}{% endfor %}", {})
    assert time.monotonic() - started < 10


@pytest.mark.slow  # loops until the time bound stops it (seconds)
def test_a_template_that_loops_over_lists_without_writing_is_stopped():
    import time

    from jinja2.sandbox import SecurityError

    from app.documents.templating import render_body

    nested = "{% set l = [0] * 10 %}" + "{% for a in l %}" * 9 + "{% endfor %}" * 9
    started = time.monotonic()
    with pytest.raises(SecurityError, match="longer than"):
        render_body(nested, {})
    assert time.monotonic() - started < 10
