"""Alembic environment: the URL and connection come from Hindsight's settings."""

from alembic import context

from app import models  # noqa: F401
from app.db import Base, make_engine
from app.search.models import not_the_index

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=not_the_index,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
