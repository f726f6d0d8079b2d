"""The full-text index lives in the database, not in the models (migration 0014).

SQLite keeps it in FTS5 tables named `search_*` (and their shadow tables), PostgreSQL in a generated
`search_vector` column with a GIN index on each searched table. Alembic's comparison of the models with
the database (autogenerate, the schema test) leaves these out through `not_the_index`.
"""

from __future__ import annotations

from typing import Any

INDEX_TABLE_PREFIX = "search_"
VECTOR_COLUMN = "search_vector"


def not_the_index(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic's `include_name`: False for the search index's tables, columns and indexes."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(INDEX_TABLE_PREFIX)
    if type_ == "column":
        return name != VECTOR_COLUMN
    if type_ == "index":
        return not name.endswith("_" + VECTOR_COLUMN)
    return True
