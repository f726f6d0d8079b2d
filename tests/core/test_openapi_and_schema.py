"""The generated OpenAPI document and the migrated schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import Base, database
from app.search.models import not_the_index


def test_openapi_is_generated_from_the_validating_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    create = spec["paths"]["/api/v1/incidents"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"title", "severity", "commander"}
    assert schema["properties"]["severity"]["enum"] == ["SEV0", "SEV1", "SEV2"]
    assert schema["additionalProperties"] is False
    assert "201" in create["responses"] and "422" in create["responses"]
    patch = spec["paths"]["/api/v1/retrospectives/{retro_id}"]["patch"]
    assert patch["parameters"][0] == {
        "name": "retro_id", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }
    query = {p["name"] for p in spec["paths"]["/api/v1/incidents"]["get"]["parameters"]}
    assert query == {"status", "severity"}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_endpoint_in_the_contract_is_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in [
        ("/api/v1/people", "post"), ("/api/v1/people", "get"), ("/api/v1/incidents", "get"),
        ("/api/v1/incidents/{incident_id}", "patch"), ("/api/v1/incidents/{incident_id}/roles", "post"),
        ("/api/v1/incidents/{incident_id}/timeline", "post"), ("/api/v1/incidents/{incident_id}/timeline", "get"),
        ("/api/v1/incidents/{incident_id}/retrospective", "get"),
    ]:
        assert method in paths[path], (path, method)


def test_migrations_create_exactly_the_models_tables(app):
    engine = database(app).engine
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": not_the_index})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_docs_api_lists_every_endpoint(client):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    missing = [f"{method.upper()} {path}" for path, ops in paths.items() for method in ops
               if f"| {method.upper()} | `{path}` |" not in doc]
    assert missing == []
