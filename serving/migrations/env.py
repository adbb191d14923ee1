"""Alembic environment. `Database.migrate` hands in an open connection; the `alembic` command line
(with `alembic.ini` at the project root) builds one from `TRIASE_DATABASE_URL` instead."""

from alembic import context
from sqlalchemy import create_engine

from serving.db import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from training.settings import get_settings

    with create_engine(get_settings().database_url).begin() as conn:
        run_migrations(conn)
