"""Related and recurring incidents on both databases: a hand-made set with a known answer (order and
reasons), privacy, the recurrence flag on the retro's page, the live section of the document."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.search.conftest import START, Corpus
from tests.web import Page, sign_in

DEPLOY = "same contributing factor: Change or deploy: The deploy or rollout itself"


def build(corpus: Corpus, *, name_factors: bool = True, start: datetime = START) -> Corpus:
    """The set: `a` is asked about; `b` and `d` share services (and `b` its factor), `c` a category and two
    words, `e` one word only (not enough), `p` is private (Rita's) and shares a service and the factor."""
    client, auth = corpus.client, corpus.auth
    for service in ("checkout-api", "orders-db"):
        assert client.post("/api/v1/services", json={"name": service}, headers=auth).status_code == 201
    _rita, corpus.rita = corpus.factory.user(email="rita@example.com", name="Rita Responder")
    corpus.incident("p", title="Payroll export slow", description="Salaries late.", visibility="private",
                    commander="rita@example.com", services=["checkout-api"], items=(("Fix payroll", ""),),
                    started=start + timedelta(days=5))
    corpus.incident("b", title="Checkout slow after a deploy", description="Carts waited.", services=["checkout-api"],
                    items=(("Add a canary", ""), ("Alert on carts", "")), started=start + timedelta(days=10))
    corpus.incident("c", title="Replica failover to primary was slow", description="", started=start + timedelta(days=20))
    corpus.incident("d", title="Orders page errors", description="", services=["orders-db", "checkout-api"],
                    started=start + timedelta(days=30))
    corpus.incident("e", title="Database down", description="", started=start + timedelta(days=40))
    for name, factor in (("p", "change.deploy"), ("b", "change.deploy"), ("c", "change.code")):
        name_factor(corpus, name, factor)
    corpus.incident("a", title="Primary database failover stalled", description="The failover of the primary took an hour.",
                    services=["checkout-api", "orders-db"], started=start + timedelta(days=50))
    if name_factors:
        name_factor(corpus, "a", "change.deploy")
    return corpus


def name_factor(corpus: Corpus, name: str, factor: str) -> None:
    response = corpus.client.post(f"/api/v1/retrospectives/{corpus.retros[name]}/factors", headers=corpus.auth,
                                  json={"factor": factor, "note": "seen in the meeting"})
    assert response.status_code == 201, response.get_json()


def related(corpus: Corpus, headers: dict[str, str], name: str = "a") -> list[tuple[str, list[str]]]:
    response = corpus.client.get(f"/api/v1/incidents/{corpus.ids[name]}/related", headers=headers)
    assert response.status_code == 200, response.get_json()
    names = {number: n for n, number in corpus.ids.items()}
    return [(names[item["incident_id"]], item["reasons"]) for item in response.get_json()["items"]]


@pytest.fixture
def made(factory, client, auth, admin) -> Corpus:  # type: ignore[no-untyped-def]
    return build(Corpus(factory, client, auth))


def test_the_most_alike_come_first_with_their_reasons(made, auth):
    assert related(made, auth) == [
        ("d", ["shares the service checkout-api", "shares the service orders-db"]),  # 6, the more recent
        ("b", ["shares the service checkout-api", DEPLOY]),  # 6
        ("p", ["shares the service checkout-api", DEPLOY]),  # 6, the oldest
        ("c", ["same kind of contributing factor: Change or deploy", "similar words: primary, failover"]),  # 3
    ]


def test_each_says_its_retros_status_and_its_open_follow_ups(made, client, auth):
    items = client.get(f"/api/v1/incidents/{made.ids['a']}/related", headers=auth).get_json()["items"]
    assert [(i["title"], i["retro_status"], i["open_action_items"]) for i in items] == [
        ("Orders page errors", "pending", 0), ("Checkout slow after a deploy", "pending", 2),
        ("Payroll export slow", "pending", 1), ("Replica failover to primary was slow", "pending", 0)]
    assert made.ids["a"] not in {i["incident_id"] for i in items}  # never the incident itself


def test_a_private_incident_is_related_only_for_those_who_may_see_it(made, factory):
    _olly, outsider = factory.user(email="olly@example.com")
    assert [name for name, _ in related(made, outsider)] == ["d", "b", "c"]
    assert [name for name, _ in related(made, made.rita)] == ["d", "b", "p", "c"]
    # Asked about the private incident itself: the outsider is told it does not exist.
    response = made.client.get(f"/api/v1/incidents/{made.ids['p']}/related", headers=outsider)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_one_shared_word_is_not_enough_and_unrelated_incidents_have_none(made, auth):
    assert related(made, auth, "e") == []
    assert related(made, auth, "c")[0] == (
        "a", ["same kind of contributing factor: Change or deploy", "similar words: failover, primary"])


def test_the_incident_page_lists_them_in_words(made, app):
    web = sign_in(app, "admin@example.com")
    html = web.get(f"/incidents/{made.ids['a']}").get_data(as_text=True)
    card = Page(html).find_all("section", id="related")[0]
    text = " ".join(card.text.split())
    assert f"#{made.ids['b']} Checkout slow after a deploy" in text
    assert "retro pending, 2 follow-ups still open" in text
    assert "Shares the service checkout-api; same contributing factor: Change or deploy" in text
    links = re.findall(r'href="([^"]+)"', html.split('id="related"', 1)[1].split("</section>", 1)[0])
    assert links == [f"/incidents/{made.ids[n]}" for n in ("d", "b", "p", "c")]


def test_the_retro_page_flags_a_recurrence_to_those_who_may_see_it(made, app, factory):
    web = sign_in(app, "admin@example.com")
    page = Page.of(web.get(f"/retrospectives/{made.retros['a']}/facilitate"))
    flag = " ".join(page.find_all("div", id="recurrence")[0].raw_text.split())
    assert flag == (f"This may have happened before: #{made.ids['b']}, 2 follow-ups still open; "
                    f"#{made.ids['p']}, 1 follow-up still open")
    factory.user(email="olly@example.com")
    page = Page.of(sign_in(app, "olly@example.com").get(f"/retrospectives/{made.retros['a']}/facilitate"))
    flag = " ".join(page.find_all("div", id="recurrence")[0].raw_text.split())
    assert flag == f"This may have happened before: #{made.ids['b']}, 2 follow-ups still open"


def flag(web, retro_id: int) -> str | None:  # type: ignore[no-untyped-def]
    found = Page.of(web.get(f"/retrospectives/{retro_id}/facilitate")).find_all("div", id="recurrence")
    return " ".join(found[0].raw_text.split()) if found else None


def test_until_its_retro_names_a_factor_any_factor_of_the_earlier_one_counts(made, app):
    web = sign_in(app, "admin@example.com")
    # d shares checkout-api with b and p, whose retros named a factor; d's names none yet.
    assert flag(web, made.retros["d"]) == (f"This may have happened before: #{made.ids['b']}, 2 follow-ups still open; "
                                           f"#{made.ids['p']}, 1 follow-up still open")
    name_factor(made, "d", "monitoring.no_alert")  # now it must be the same factor
    assert flag(web, made.retros["d"]) is None
    assert flag(web, made.retros["e"]) is None  # no service shared


def test_no_flag_once_the_follow_ups_are_closed_or_too_long_ago(made, app, client, auth):
    web = sign_in(app, "admin@example.com")
    items = client.get("/api/v1/action-items", query_string={"retrospective_id": made.retros["b"]},
                       headers=auth).get_json()["items"]
    for item in items:
        response = client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"}, headers=auth)
        assert response.status_code == 200, response.get_json()
    assert flag(web, made.retros["a"]) == f"This may have happened before: #{made.ids['p']}, 1 follow-up still open"
    later = made.incident("later", title="Checkout slow again", services=["checkout-api"],
                          started=START + timedelta(days=5 + 91))
    name_factor(made, "later", "change.deploy")
    assert flag(web, made.retros["later"]) is None  # p began 91 days before it, b's follow-ups are done


def test_the_markdown_export_has_a_live_related_section_of_public_incidents(made, client, auth):
    response = client.get(f"/api/v1/retrospectives/{made.retros['a']}/export?format=markdown", headers=auth)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    section = text.split("## Related incidents\n\n", 1)[1].split("\n\n", 1)[0]
    ids = made.ids
    # Each fact is literal Markdown text (punctuation escaped): compared as a reader sees it.
    assert [re.sub(r"\\(.)", r"\1", line) for line in section.splitlines()] == [
        "| Incident | Retro | Open follow-ups | Why |", "|---|---|---|---|",
        f"| #{ids['d']} Orders page errors | Pending | 0 | shares the service checkout-api; shares the service orders-db |",
        f"| #{ids['b']} Checkout slow after a deploy | Pending | 2 | shares the service checkout-api; "
        "same contributing factor: Change or deploy: The deploy or rollout itself |",
        f"| #{ids['c']} Replica failover to primary was slow | Pending | 0 | "
        "same kind of contributing factor: Change or deploy; similar words: primary, failover |",
    ]
    assert "Payroll" not in text  # the private one, though the admin may see it: the document travels
    # Live: a new follow-up on d shows at the next export.
    response = client.post(f"/api/v1/retrospectives/{made.retros['d']}/action-items", headers=auth, json={
        "title": "Index the orders", "owner": "admin@example.com", "due_date": (START.date() + timedelta(days=400)).isoformat()})
    assert response.status_code == 201, response.get_json()
    again = client.get(f"/api/v1/retrospectives/{made.retros['a']}/export?format=markdown", headers=auth).get_data(as_text=True)
    assert f"| #{ids['d']} Orders page errors | Pending | 1 |" in again
