"""The migration that gives tokens scopes keeps the power each existing token had."""

from __future__ import annotations

import sqlalchemy as sa

from app.migrations import upgrade


def test_existing_tokens_get_the_scope_of_their_users_power(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0014")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for n, admin in ((1, True), (2, False)):
            conn.execute(sa.text("INSERT INTO people (id, name, email, created_at) VALUES (:n, :name, :email, '2026-12-01')"),
                         {"n": n, "name": f"P{n}", "email": f"p{n}@example.com"})
            conn.execute(sa.text("INSERT INTO users (id, person_id, is_admin, created_at) VALUES (:n, :n, :admin, '2026-12-01')"),
                         {"n": n, "admin": admin})
            conn.execute(sa.text("INSERT INTO api_tokens (id, user_id, token_hash, prefix, created_at) "
                                 "VALUES (:n, :n, :hash, 'hs_x', '2026-12-01')"), {"n": n, "hash": str(n) * 64})
    upgrade(url, "0015")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, scope, name, expires_at FROM api_tokens ORDER BY id")).all()
        active = conn.execute(sa.text("SELECT DISTINCT active FROM people")).scalars().all()
    engine.dispose()
    assert [(row.id, row.scope) for row in rows] == [(1, "admin"), (2, "write")]
    assert all(row.name and row.expires_at is None for row in rows)
    assert active in ([1], [True])
