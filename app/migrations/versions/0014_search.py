"""search: the full-text index of incidents, timeline events, document sections and action items.

SQLite: an FTS5 external-content table per searched table (`search_incidents`, `search_events`,
`search_sections`, `search_action_items`; Porter stemming over unicode61, accents kept), kept in step
by AFTER INSERT / DELETE / UPDATE OF <text columns> triggers on the searched table, and filled here
with FTS5's 'rebuild'. A later migration that rebuilds one of these tables on SQLite (a batch
"move and copy") drops its triggers with it: it must create them again (`sqlite_triggers` below).

PostgreSQL: a generated `search_vector` tsvector column ('english' configuration; titles weight A,
the rest B) with a GIN index on each searched table; the database computes it on every write.

None of this is in the models: Alembic's comparison leaves it out (app/search/models.py).

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (index, searched table, its text columns in index order, which of them are titles)
INDEXES = (
    ("search_incidents", "incidents", ("title", "description"), ("title",)),
    ("search_events", "timeline_events", ("text",), ()),
    ("search_sections", "document_sections", ("body",), ()),
    ("search_action_items", "action_items", ("title", "description"), ("title",)),
)
TOKENIZE = "porter unicode61 remove_diacritics 0"


def sqlite_triggers(index: str, table: str, columns: tuple[str, ...]) -> list[str]:
    """The statements that keep `index` in step with `table` (an external-content FTS5 table)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {index}(rowid, {names}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {index}({index}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {index}_update AFTER UPDATE OF {names} ON {table} BEGIN {delete} {insert} END",
    ]


def _vector(columns: tuple[str, ...], titles: tuple[str, ...]) -> str:
    parts = [f"setweight(to_tsvector('english'::regconfig, coalesce({c}, '')), '{'A' if c in titles else 'B'}')"
             for c in columns]
    return " || ".join(parts)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for index, table, columns, _titles in INDEXES:
            op.execute(f"CREATE VIRTUAL TABLE {index} USING fts5({', '.join(columns)}, content='{table}', "
                       f"content_rowid='id', tokenize='{TOKENIZE}')")
            for statement in sqlite_triggers(index, table, columns):
                op.execute(statement)
            op.execute(f"INSERT INTO {index}({index}) VALUES ('rebuild')")
        return
    for _index, table, columns, titles in INDEXES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({_vector(columns, titles)}) STORED")
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for index, _table, _columns, _titles in INDEXES:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {index}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {index}")
        return
    for _index, table, _columns, _titles in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_vector")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
