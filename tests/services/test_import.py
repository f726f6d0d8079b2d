"""Importing the catalogue: CSV, YAML rows, a Backstage export; idempotent; a bad row imports nothing.

Through the admin page's upload (the real form, signed in) and `hindsight services import`."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.web import Page, csrf_token, sign_in

CSV = """name,team,description
checkout-api,payments,Takes the money
payments-db,payments,
search,discovery,Finds products
"""

YAML_ROWS = """services:
  - name: checkout-api
    team: payments
    description: Takes the money
  - name: search
"""

BACKSTAGE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Checkout-API
  description: Takes the money
spec:
  type: service
  owner: group:default/payments
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
spec:
  owner: discovery
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
spec:
  owner: user:default/jane
"""


@pytest.fixture
def web(app, admin):
    return sign_in(app, "admin@example.com")


def _upload(web, text, filename):
    token = csrf_token(web.get("/services").get_data(as_text=True))
    return web.post("/services/import", data={"csrf_token": token, "file": (io.BytesIO(text.encode()), filename)},
                    content_type="multipart/form-data")


def _catalogue(client, auth):
    return {s["name"]: (s["team"], s["description"]) for s in client.get("/api/v1/services", headers=auth).json["items"]}


def test_a_csv_import_creates_and_a_second_one_updates(web, client, auth):
    first = _upload(web, CSV, "services.csv")
    assert first.status_code == 302
    assert _catalogue(client, auth) == {
        "checkout-api": ("payments", "Takes the money"), "payments-db": ("payments", ""), "search": ("discovery", "Finds products"),
    }
    again = _upload(web, CSV.replace("Finds products", "Finds everything").replace("search,discovery", "search,platform"),
                    "services.csv")
    assert again.status_code == 302
    shown = Page.of(web.get("/services"))
    assert shown.shows("0 services added, 1 updated, 2 already up to date, 1 new teams")
    catalogue = _catalogue(client, auth)
    assert len(catalogue) == 3 and catalogue["search"] == ("platform", "Finds everything")


def test_yaml_rows_are_imported(web, client, auth):
    assert _upload(web, YAML_ROWS, "catalogue.yaml").status_code == 302
    assert _catalogue(client, auth) == {"checkout-api": ("payments", "Takes the money"), "search": (None, "")}


def test_a_backstage_export_gives_components_with_their_owner_groups(web, client, auth):
    assert _upload(web, BACKSTAGE, "catalog-info.yaml").status_code == 302
    assert _upload(web, BACKSTAGE, "catalog-info.yaml").status_code == 302  # again: nothing doubled
    assert _catalogue(client, auth) == {
        "checkout-api": ("payments", "Takes the money"), "search": ("discovery", ""), "ledger": (None, ""),
    }
    teams = [t["name"] for t in client.get("/api/v1/teams", headers=auth).json["items"]]
    assert teams == ["discovery", "payments"]


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
    f"*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n" for n in range(12)
) + "kind: Component\nmetadata:\n  name: laughs\n  description: *m\nspec:\n  owner: *m\n"


@pytest.mark.parametrize("text, filename, problems", [
    (LAUGHS, "c.yaml", ["Document 1: a name, team, owner or description is a list or mapping, not plain text"]),
    ("name,team,description\ncheckout-api,payments,ok\nBad Name!,payments,x\n,payments,y\n", "s.csv",
     ["Line 3: the name 'bad name!' must be", "Line 4: the service has no name"]),
    ("name,team,description\ncheckout-api,,\ncheckout-api,,\n", "s.csv", ["Line 3: the service 'checkout-api' is already given at line 2"]),
    ("kind: Component\nmetadata:\n  name: checkout-api\nspec: {}\n---\nkind: Component\nmetadata: nope\n", "c.yaml",
     ["Document 2: a Component needs metadata"]),
    ("services:\n  - name: ok\n\tname: tab\n", "c.yaml", ["Line 3: not valid YAML"]),
    ("title,owner\nx,y\n", "s.csv", ["Line 1: the header must name the columns"]),
])
def test_a_file_with_bad_rows_imports_nothing_and_names_them(web, client, auth, text, filename, problems):
    refused = _upload(web, text, filename)
    assert refused.status_code == 422
    page = Page.of(refused)
    assert page.shows("Nothing was imported")
    listed = page.texts("li")
    for problem in problems:
        assert any(item.startswith(problem) for item in listed), (problem, listed)
    assert _catalogue(client, auth) == {}


def test_only_admins_import(app, factory, client, auth):
    factory.user(email="mo@example.com", name="Mo Member")
    member = sign_in(app, "mo@example.com")
    assert not Page.of(member.get("/services")).find_all("form", id="import-services")
    token = csrf_token(member.get("/services").get_data(as_text=True))
    response = member.post("/services/import", data={"csrf_token": token, "file": (io.BytesIO(CSV.encode()), "s.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert _catalogue(client, auth) == {}


@pytest.mark.slow
def test_the_command_imports_a_backstage_export_twice_without_duplicates(tmp_path):
    env = {"HINDSIGHT_INSTANCE_PATH": str(tmp_path / "instance"), "HINDSIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "HINDSIGHT_SECRET_KEY": "cli-test"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    path = tmp_path / "catalog-info.yaml"
    path.write_text(BACKSTAGE)
    first = CliRunner().invoke(main, ["services", "import", str(path)], env=env)
    assert first.exit_code == 0, first.output
    assert "3 services added, 0 updated, 0 unchanged, 2 new teams." in first.output
    second = CliRunner().invoke(main, ["services", "import", str(path)], env=env)
    assert "0 services added, 0 updated, 3 unchanged, 0 new teams." in second.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,team\nok,payments\nNot OK,payments\n")
    refused = CliRunner().invoke(main, ["services", "import", str(bad)], env=env)
    assert refused.exit_code == 1
    assert "Nothing was imported" in refused.output and "line 3:" in refused.output
