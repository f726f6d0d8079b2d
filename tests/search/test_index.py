"""The search index is the database's own: present after the migrations, and never in a writer's way."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from app.db import database

SEARCHED = {"incidents": ("title", "description"), "timeline_events": ("text",),
            "document_sections": ("body",), "action_items": ("title", "description")}
INDEXES = {"incidents": "search_incidents", "timeline_events": "search_events",
           "document_sections": "search_sections", "action_items": "search_action_items"}


def test_every_searched_table_is_indexed_and_kept_in_step(app):
    """A later migration that rebuilds a searched table on SQLite (batch "move and copy") drops its
    triggers with it: this fails until it creates them again."""
    engine = database(app).engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            triggers = {row[0]: row[1] for row in conn.execute(text(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"))}
            expected = {f"{INDEXES[table]}_{event}": table for table in SEARCHED
                        for event in ("insert", "delete", "update")}
            assert triggers == expected
            for table, index in INDEXES.items():
                sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": index})
                assert f"content='{table}'" in sql and "porter unicode61 remove_diacritics 0" in sql
        else:
            vectors = conn.execute(text(
                "SELECT table_name, generation_expression FROM information_schema.columns "
                "WHERE column_name = 'search_vector' AND table_schema = current_schema()")).all()
            assert {table for table, _expression in vectors} == set(SEARCHED)
            assert all("'english'" in expression for _table, expression in vectors)
            indexes = {row[0] for row in conn.execute(text(
                "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gin (search_vector)%'"))}
            assert indexes == set(SEARCHED)


@pytest.mark.committing
def test_a_search_does_not_wait_for_a_writer(corpus, client, auth, app):
    """A write transaction holds SQLite's write lock (WAL) or PostgreSQL's row locks while the search
    reads: the search answers at once, with what was committed before."""
    engine = database(app).engine
    writer = engine.connect()
    holding = threading.Event()
    release = threading.Event()

    def write() -> None:
        with writer.begin():
            writer.execute(text("INSERT INTO timeline_events (incident_id, occurred_at, text, kind, source, created_at) "
                                "VALUES (:incident, :now, 'Uncommitted failover note', 'note', 'api', :now)"),
                           {"incident": corpus.ids["failover"], "now": datetime.now(timezone.utc).replace(tzinfo=None)})
            writer.execute(text("UPDATE incidents SET title = 'Renamed while searching' WHERE id = :id"),
                           {"id": corpus.ids["failover"]})
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = client.get("/api/v1/search", query_string={"q": "failover"}, headers=auth)
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
        writer.close()
    assert response.status_code == 200
    assert waited < 1.0, waited
    snippets = [item["snippet"] for item in response.get_json()["items"]]
    assert not any("Uncommitted" in snippet for snippet in snippets)
    assert response.get_json()["items"][0]["title"] == "Database failover failed"
    after = client.get("/api/v1/search", query_string={"q": "uncommitted"}, headers=auth).get_json()["items"]
    assert [item["kind"] for item in after] == ["event"]
